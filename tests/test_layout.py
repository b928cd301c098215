"""Dependencies point one way: nets and data know nothing of training, callbacks or checks of others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"
# what a room may not import (module prefixes)
FORBIDDEN = {
    "models": (
        "src.gan",
        "src.classifier",
        "src.callbacks",
        "src.metrics",
        "src.data",
        "src.utils.validation",
    ),
    "data": (
        "src.gan",
        "src.classifier",
        "src.callbacks",
        "src.metrics",
        "src.models",
        "src.utils.validation",
    ),
    "diffusion": (
        "src.gan",
        "src.classifier",
        "src.callbacks",
        "src.metrics",
        "src.data",
        "src.utils.validation",
    ),
    "metrics": ("src.gan", "src.classifier", "src.callbacks", "src.utils.validation"),
    "utils": ("src.gan", "src.classifier", "src.callbacks", "src.metrics", "src.models", "src.data"),
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_nothing_above_it(room):
    bad = {
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for path in (SRC / room).rglob("*.py")
        for name in imports_of(path)
        if name.startswith(FORBIDDEN[room])
    }
    assert not bad, sorted(bad)


def test_only_entry_points_stay_at_the_top():
    entries = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    assert entries == {"train", "evaluate", "generate", "report", "train_classifier"}
