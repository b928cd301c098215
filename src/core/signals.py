"""Stop requests from the outside world (SIGTERM, SIGINT, SIGUSR1, SIGUSR2), honoured at safe points.

The handler only records the signal. The training loop checks it after each step (the checkpoint
callback saves `last.ckpt` at that step, then raises `StopRequested`), and long passes (FID samples,
reference statistics) check it between batches, so a scheduler's SIGTERM is answered within one step
or one batch of images. The process then exits with 128 + the signal's number, as a shell reports a
process killed by that signal, so a scheduler never takes a stopped run for a finished one.

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
from collections.abc import Callable
from typing import Any

import torch

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
