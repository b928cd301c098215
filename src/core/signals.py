"""Stop requests from the outside world (SIGTERM, SIGINT, SIGUSR1, SIGUSR2): at once before training,
at safe points during it.

Before training (`stop_at_once`, the first thing an entry point does) nothing of the run has been
written yet, so a stop signal raises at once and the process ends with one line. From just before
`trainer.fit` on (`install`) the handler only records the signal. The training loop checks it after
each step (the checkpoint callback saves `last.ckpt` at that step, then raises `StopRequested`), and
long passes (FID samples, reference statistics) check it between batches, so a scheduler's SIGTERM
is answered within one step or one batch of images. The process then exits with 128 + the signal's
number, as a shell reports a process killed by that signal, so a scheduler never takes a stopped run
for a finished one.

Under SLURM, SIGUSR1 and SIGUSR2 mean "you are about to be pre-empted or time out" (submitit sends
USR2 `signal_delay_s` before the limit; Lightning users send USR1): once the checkpoint is saved,
`hand_over` gives the signal to whoever handled it before us (submitit: it requeues the job with its
own count of time-outs) or, with no such owner, requeues the job itself with `scontrol requeue`. The
requeued job starts again in the same run folder and continues from its last.ckpt.
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
_previous: dict[int, Any] = {}  # the handlers in place before the first `install` (submitit's, say)


class StopRequested(GanlabError):
    """A stop signal arrived; the run saved what it had and stops."""

    def __init__(self, signum: int, where: str):
        self.signum = signum
        self.exit_code = SIGNAL_EXIT_BASE + signum
        super().__init__(f"stopped by {signal.Signals(signum).name} {where}")


class StartupStop(KeyboardInterrupt):
    """A stop signal before training: raised at once, like Ctrl-C (a BaseException that no library's
    `except Exception` swallows), and reported by `_one_line_hook` as one line."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name} during start-up: nothing was written")


def _record(signum: int, frame: Any) -> None:
    global _pending
    _pending = signum


def _to_scheduler(signum: int, frame: Any) -> bool:
    """A scheduler's warning (SIGUSR1/2) goes to its previous owner (submitit requeues the job)."""
    previous = _previous.get(signum)
    if signum in REQUEUE_SIGNALS and callable(previous) and previous is not signal.default_int_handler:
        previous(signum, frame)
        return True
    return False


def _exit_now(signum: int, frame: Any) -> None:
    """During the imports: an exception raised inside an import can leave a library half imported (and
    a later error in its place), and nothing exists yet to clean up, so the process just ends."""
    if not _to_scheduler(signum, frame):
        print(f"error: {StartupStop(signum)}", file=sys.stderr, flush=True)
        os._exit(SIGNAL_EXIT_BASE + signum)


def _raise_now(signum: int, frame: Any) -> None:
    if not _to_scheduler(signum, frame):
        raise StartupStop(signum)


def _one_line_hook(kind: type, value: BaseException, tb: Any) -> None:
    """An error nobody caught, raised by an interrupt (also when the interrupt left another error in its
    place): one line, exit 128 + N; any other error keeps its traceback."""
    seen: BaseException | None = value
    while seen is not None and not isinstance(seen, KeyboardInterrupt):
        seen = seen.__context__
    if seen is None:
        sys.__excepthook__(kind, value, tb)
        return
    signum = getattr(seen, "signum", signal.SIGINT)
    print(f"error: {seen or f'stopped by {signal.Signals(signum).name}'}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(SIGNAL_EXIT_BASE + signum)


def _route(handler: Callable[[int, Any], None]) -> None:
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current not in (_record, _raise_now, _exit_now):
            _previous.setdefault(signum, current)
        signal.signal(signum, handler)


def stop_at_once() -> None:
    """The first thing an entry point does: until its imports are done a stop signal ends the process at
    once with one line and exit 128 + N (SIGUSR1/2 go to a scheduler's handler if there is one)."""
    _route(_exit_now)
    sys.excepthook = _one_line_hook


def raise_at_once() -> None:
    """From the entry point's main() until training: a stop signal raises StartupStop where the process
    is, so that what the start made is cleaned up on the way out (src/run/attempt.py)."""
    _route(_raise_now)


def install() -> None:
    """Route the stop signals to the recorder (again, after Lightning installed its own handlers)."""
    _route(_record)


def uninstall() -> None:
    """Give the stop signals back to whatever handled them before `install`."""
    for signum, handler in list(_previous.items()):
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def hand_over(stop: StopRequested) -> None:
    """After the stop's checkpoint: let the signal's previous owner act on it, or requeue the SLURM job.

    A Python handler installed before ours (submitit's pre-emption handler) is called; it may requeue
    the job and exit. Under SLURM with no such owner, SIGUSR1/SIGUSR2 requeue the job from task 0.
    Otherwise nothing happens and the caller exits with 128 + signum."""
    signum = stop.signum
    previous = _previous.get(signum)
    if callable(previous) and previous is not signal.default_int_handler:
        log.warning(
            "%s; handing %s to %s",
            stop,
            signal.Signals(signum).name,
            getattr(previous, "__qualname__", previous),
        )
        previous(signum, None)
        return
    job_id = os.environ.get("SLURM_JOB_ID")
    if signum in REQUEUE_SIGNALS and job_id and os.environ.get("SLURM_PROCID", "0") == "0":
        log.warning("%s; requeueing SLURM job %s: it continues from its last.ckpt", stop, job_id)
        result = subprocess.run(["scontrol", "requeue", job_id], capture_output=True, text=True)
        if result.returncode:
            log.warning("scontrol requeue %s failed: %s", job_id, result.stderr.strip())


def pending() -> int | None:
    return _pending


def agreed_pending(strategy: Any) -> int | None:
    """The stop signal any rank received (the highest number), the same on every rank: one small
    all-reduce, so call it at the same step on all ranks. With one process, the local one."""
    if strategy.world_size <= 1:
        return _pending
    import torch  # only here: an entry point imports this module before anything heavy

    flag = torch.tensor(_pending or 0, device=strategy.root_device)
    agreed = int(strategy.reduce(flag, reduce_op="max"))
    return agreed or None


def request(signum: int) -> None:
    """Record `signum` as if it had arrived (a rank that learns of another rank's signal)."""
    global _pending
    _pending = signum


def clear() -> None:
    global _pending
    _pending = None


def raise_if_pending(where: str | Callable[[], str]) -> None:
    """Raise StopRequested when a stop signal has arrived (`where` says at which point)."""
    if _pending is not None:
        raise StopRequested(_pending, where() if callable(where) else where)
