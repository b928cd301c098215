"""Argument checks that every component uses on its own arguments, each raising one ConfigError line.

A component names the config key a user would type (`data.batch_size`, `model.lr_g`), so the line
says exactly what to change. These helpers know nothing of any component.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from src.utils.errors import ConfigError


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def positive_int(value: object, name: str) -> int:
    """A whole number > 0 (not a bool, not a float)."""
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        raise ConfigError(f"{name}={value!r} is not allowed: use a whole number > 0")
    return value


def positive(value: object, name: str) -> float:
    """A number > 0."""
    if not (_is_number(value) and value > 0):
        raise ConfigError(f"{name}={value!r} is not allowed: use a number > 0")
    return float(value)


def non_negative(value: object, name: str, zero_means: str = "off") -> float:
    """A number >= 0."""
    if not (_is_number(value) and value >= 0):
        raise ConfigError(f"{name}={value!r} is not allowed: use a number >= 0 (0 = {zero_means})")
    return float(value)


def in_range(value: object, name: str, low: float, high: float, closed_high: bool = False) -> float:
    """A number in [low, high) (or [low, high] with closed_high)."""
    ok = _is_number(value) and low <= value and (value <= high if closed_high else value < high)
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
