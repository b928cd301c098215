"""One error type for every mistake a user can make, and the one way it reaches the user: one line."""

from __future__ import annotations

import sys
from typing import NoReturn

USER_ERROR_EXIT = 2  # the exit status of a one-line user error (as argparse uses)


class GanlabError(Exception):
    """A user-facing error: its message is one line naming the bad value and what is allowed."""


class ConfigError(GanlabError):
    """A configuration value is out of range or unknown."""


class DataError(GanlabError):
    """A data set is missing, empty or unreadable."""


def user_error(err: BaseException) -> GanlabError | None:
    """The project's user error behind `err`, if any: Hydra's instantiate wraps what a component's
    constructor raises, so the cause chain is searched."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, GanlabError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def exit_with_error(message: object, code: int = USER_ERROR_EXIT) -> NoReturn:
    """One line on stderr, `error: ...`, and the exit status (the user-error one by default)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)
