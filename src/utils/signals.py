"""Stop requests from the outside world (SIGTERM, SIGINT, SIGUSR1), honoured at safe points.

The handler only records the signal. The training loop checks it after each step (the checkpoint
callback saves `last.ckpt` at that step, then raises `StopRequested`), and long passes (FID samples,
reference statistics) check it between batches, so a scheduler's SIGTERM is answered within one step
or one batch of images. The process then exits with 128 + the signal's number, as a shell reports a
process killed by that signal, so a scheduler never takes a stopped run for a finished one.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from src.utils.errors import GanlabError

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
SIGNAL_EXIT_BASE = 128

_pending: int | None = None
_previous: dict[int, Any] = {}


class StopRequested(GanlabError):
    """A stop signal arrived; the run saved what it had and stops."""

    def __init__(self, signum: int, where: str):
        self.signum = signum
        self.exit_code = SIGNAL_EXIT_BASE + signum
        super().__init__(f"stopped by {signal.Signals(signum).name} {where}")


def _record(signum: int, frame: Any) -> None:
    global _pending
    _pending = signum


def install() -> None:
    """Route the stop signals to the recorder (again, after Lightning installed its own handlers)."""
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current is not _record:
            _previous.setdefault(signum, current)
            signal.signal(signum, _record)


def uninstall() -> None:
    """Give the stop signals back to whatever handled them before `install`."""
    for signum, handler in list(_previous.items()):
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    _previous.clear()


def pending() -> int | None:
    return _pending


def clear() -> None:
    global _pending
    _pending = None


def raise_if_pending(where: str | Callable[[], str]) -> None:
    """Raise StopRequested when a stop signal has arrived (`where` says at which point)."""
    if _pending is not None:
        raise StopRequested(_pending, where() if callable(where) else where)
