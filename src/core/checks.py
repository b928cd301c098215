"""The argument rules every component applies to its own values, each written once and raising one
ConfigError line that names the key a user would type."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from src.core.errors import ConfigError


def is_whole(value: object) -> bool:
    """An int that is not a bool (YAML's `true` is an int to Python)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def whole(value: object, name: str, low: int = 1, high: int | None = None, note: str = "") -> int:
    """A whole number in low..high (no upper bound when high is None); `note` explains a bound."""
    if not (is_whole(value) and value >= low and (high is None or value <= high)):
        allowed = f"in {low}..{high}" if high is not None else "> 0" if low == 1 else f">= {low}"
        raise ConfigError(f"{name}={value!r} is not allowed: use a whole number {allowed}{note}")
    return value


def positive_int(value: object, name: str) -> int:
    return whole(value, name)


def positive(value: object, name: str) -> float:
    """A number > 0."""
    if not (is_number(value) and value > 0):
        raise ConfigError(f"{name}={value!r} is not allowed: use a number > 0")
    return float(value)


def non_negative(value: object, name: str, zero_means: str = "off") -> float:
    """A number >= 0."""
    if not (is_number(value) and value >= 0):
        raise ConfigError(f"{name}={value!r} is not allowed: use a number >= 0 (0 = {zero_means})")
    return float(value)


def in_range(value: object, name: str, low: float, high: float, closed_high: bool = False) -> float:
    """A number in [low, high) (or [low, high] with closed_high)."""
    ok = is_number(value) and low <= value and (value <= high if closed_high else value < high)
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ConfigError(f"{name}={value!r} is not allowed: use a number in [{low}, {high}{bracket}")
    return float(value)


def boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} is not allowed: use true or false")
    return value


def one_of(value: Any, name: str, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is unknown: use one of {', '.join(map(str, choices))}")
    return value


def existing_file(path: object, name: str, use: str) -> Path:
    """A path to an existing file; `use` says what to give instead (e.g. "give a .ckpt ...")."""
    found = Path(str(path))
    if not found.is_file():
        state = "a folder" if found.is_dir() else "missing"
        raise ConfigError(f"{name}={str(path)!r} is {state}: {use}")
    return found


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean X?)` for the choice closest to `word`, or the empty string when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""
