"""Stop requests (SIGTERM, SIGINT, SIGUSR1, SIGUSR2): at once before training, at safe points during it.

Before training nothing of the run is written yet, so a stop ends the process with one line. From just
before `trainer.fit` the handler only records the signal; the training loop and long feature passes
check it at safe points. Either way the exit status is 128 + the signal's number, as a shell reports a
killed process (docs/checkpoints.md: what each stop does, and SLURM's pre-emption warnings).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from src.core.errors import GanlabError

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
REQUEUE_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)  # under SLURM: save, then requeue the job
SIGNAL_EXIT_BASE = 128

log = logging.getLogger(__name__)
_pending: int | None = None
_previous: dict[int, Any] = {}  # the handlers in place before ours (submitit's, say)


class StopRequested(GanlabError):
    """A stop signal arrived during training; the run saved what it had and stops."""

    def __init__(self, signum: int, where: str):
        self.signum, self.exit_code = signum, SIGNAL_EXIT_BASE + signum
        super().__init__(f"stopped by {signal.Signals(signum).name} {where}")


class StartupStop(KeyboardInterrupt):
    """A stop signal before training, raised where the process is (like Ctrl-C: no library's
    `except Exception` swallows it), so that what the start made is cleaned up on the way out."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} during start-up: nothing was written")


def _previous_owner(signum: int) -> Callable | None:
    previous = _previous.get(signum)
    return previous if callable(previous) and previous is not signal.default_int_handler else None


def _to_scheduler(signum: int, frame: Any) -> bool:
    """A scheduler's warning (SIGUSR1/2) goes to the handler it installed (submitit requeues the job)."""
    owner = _previous_owner(signum) if signum in REQUEUE_SIGNALS else None
    if owner is not None:
        owner(signum, frame)
    return owner is not None


def _record(signum: int, frame: Any) -> None:
    request(signum)


def _exit_now(signum: int, frame: Any) -> None:
    """During the imports: an exception there can leave a library half imported, and nothing exists
    yet to clean up, so the process just ends."""
    if not _to_scheduler(signum, frame):
        print(f"error: {StartupStop(signum)}", file=sys.stderr, flush=True)
        os._exit(SIGNAL_EXIT_BASE + signum)


def _raise_now(signum: int, frame: Any) -> None:
    if not _to_scheduler(signum, frame):
        raise StartupStop(signum)


def _one_line_hook(kind: type, value: BaseException, tb: Any) -> None:
    """An uncaught error that an interrupt caused (or left behind): one line, exit 128 + N."""
    seen: BaseException | None = value
    while seen is not None and not isinstance(seen, KeyboardInterrupt):
        seen = seen.__context__
    if seen is None:
        sys.__excepthook__(kind, value, tb)
        return
    signum = getattr(seen, "signum", signal.SIGINT)
    print(f"error: {seen or f'stopped by {signal.Signals(signum).name}'}", file=sys.stderr, flush=True)
    os._exit(SIGNAL_EXIT_BASE + signum)


def _route(handler: Callable[[int, Any], None]) -> None:
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) not in (_record, _raise_now, _exit_now):
            _previous.setdefault(signum, signal.getsignal(signum))
        signal.signal(signum, handler)


def stop_at_once() -> None:
    """The first thing an entry point does: until its imports are done a stop ends the process."""
    _route(_exit_now)
    sys.excepthook = _one_line_hook


def raise_at_once() -> None:
    """From the entry point's main() until training: a stop raises StartupStop."""
    _route(_raise_now)


def install() -> None:
    """During training: a stop is recorded and honoured at the next safe point."""
    _route(_record)


def uninstall() -> None:
    """Give the stop signals back to whatever handled them before ganlab."""
    for signum, handler in list(_previous.items()):
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def hand_over(stop: StopRequested) -> None:
    """After the stop's checkpoint: the signal's previous owner acts on it (submitit may requeue the
    job and exit), or under SLURM with no such owner SIGUSR1/2 requeue the job from task 0."""
    owner, job_id = _previous_owner(stop.signum), os.environ.get("SLURM_JOB_ID")
    if owner is not None:
        name = signal.Signals(stop.signum).name
        log.warning("%s; handing %s to %s", stop, name, getattr(owner, "__qualname__", owner))
        owner(stop.signum, None)
    elif stop.signum in REQUEUE_SIGNALS and job_id and os.environ.get("SLURM_PROCID", "0") == "0":
        log.warning("%s; requeueing SLURM job %s: it continues from its last.ckpt", stop, job_id)
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True)
        if result.returncode:
            log.warning("scontrol requeue %s failed: %s", job_id, result.stderr.strip())


def pending() -> int | None:
    return _pending


def request(signum: int | None) -> None:
    """Record `signum` as if it had arrived (a rank that learns of another rank's signal); None clears."""
    global _pending
    _pending = signum


def raise_if_pending(where: str | Callable[[], str]) -> None:
    """Raise StopRequested when a stop signal has arrived (`where` says at which point)."""
    if _pending is not None:
        raise StopRequested(_pending, where() if callable(where) else where)
