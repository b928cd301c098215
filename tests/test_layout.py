"""Dependencies point one way, layer by layer, and no two modules import each other (no cycles).

    core  <-  models, data, metrics, generative  <-  gan, diffusion, classifier  <-  callbacks
    run (core, generative, metrics)  <-  the entry points (src/train.py, evaluate.py, generate.py, ...)

ALLOWED is exactly what each room imports: a room may import no other, and imports each one listed
(so this map, and README's, cannot go stale in either direction).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"
# what each room may import of src (module prefixes); anything else of src is above it
ALLOWED = {
    "core": ("src.core",),
    "models": ("src.core", "src.models"),
    "data": ("src.core", "src.data"),
    "metrics": ("src.core", "src.metrics"),
    "generative": ("src.core", "src.generative"),
    "gan": ("src.core", "src.generative", "src.gan"),
    "diffusion": ("src.core", "src.generative", "src.diffusion"),
    "classifier": ("src.core", "src.generative", "src.metrics", "src.classifier"),
    "callbacks": ("src.core", "src.generative", "src.metrics", "src.classifier", "src.callbacks"),
    "run": ("src.core", "src.generative", "src.metrics", "src.run"),
}
ENTRY_POINTS = {"train", "evaluate", "generate", "report", "train_classifier"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_room_is_a_known_layer():
    rooms = {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert rooms == set(ALLOWED)
    entries = {p.stem for p in SRC.glob("*.py")} - {"__init__"}
    assert entries == ENTRY_POINTS


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_nothing_above_it(room):
    bad = {
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for path in (SRC / room).rglob("*.py")
        for name in imports_of(path)
        if name.startswith("src") and not name.startswith(ALLOWED[room])
    }
    assert not bad, sorted(bad)


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_every_room_it_is_allowed(room):
    used = {name for path in (SRC / room).rglob("*.py") for name in imports_of(path)}
    unused = [a for a in ALLOWED[room] if not any(n == a or n.startswith(f"{a}.") for n in used)]
    assert not unused, f"src/{room} no longer imports {unused}: update ALLOWED and README's map"


def test_no_import_cycles():
    graph = {module_name(p): {n for n in imports_of(p) if n.startswith("src.")} for p in SRC.rglob("*.py")}
    # `from src.x import y` may name a module src.x.y: count it as an import of the module it names
    graph = {m: {n if n in graph else n.rsplit(".", 1)[0] for n in deps} for m, deps in graph.items()}

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in graph.get(node, ()):
            if nxt == start:
                return (*seen, nxt)
            if nxt not in seen and nxt in graph:
                found = cycle_from(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, m, (m,))) and m != "src"]
    assert not cycles, " -> ".join(cycles[0])


def test_importing_the_package_installs_nothing():
    """No warning filters or resolvers as a side effect of `import src`: the entry points set them up."""
    import subprocess
    import sys

    probe = (
        "import warnings, omegaconf, torch, lightning, hydra, torchvision, torchmetrics; "
        "n = len(warnings.filters); import src, src.gan, src.diffusion, src.callbacks, src.run.entry; "
        "assert len(warnings.filters) == n, 'filters added'; "
        "assert not omegaconf.OmegaConf.has_resolver('if_gpu'), 'resolver registered'"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-1500:]
