"""What every entry point does around its task: the console filters and config resolvers, seeding,
and one line (in a sweep job, a recorded failure) for any error a user can act on, whoever raised it.
`import src` installs nothing: the entry points call `main()`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src.core import signals
from src.core.errors import USER_ERROR_EXIT, exit_with_error
from src.run.attempt import claim, claimed, hydra_record, release_log, remove_unclaimed, write_record
from src.run.console import quiet_known_messages
from src.run.errors import one_line_error
from src.run.resolvers import register_resolvers
from src.run.sweep import FailedJob, in_multirun, record_failure

T = TypeVar("T")
log = logging.getLogger(__name__)


def setup() -> None:
    """The console filters of known-harmless messages and the resolvers conf/ uses."""
    quiet_known_messages()
    register_resolvers()


def main(hydra_main: Callable[[], Any]) -> None:
    """Run an entry point's Hydra main: an error outside its task (composing the config, the OS refusing a
    folder) is one line too; folders made for a start that never took them over are removed."""
    signals.raise_at_once()
    setup()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing its own block
    try:
        hydra_main()
    except Exception as exc:
        found = one_line_error(exc)
        if found is None:
            raise
        exit_with_error(found, getattr(found, "exit_code", USER_ERROR_EXIT))
    finally:
        remove_unclaimed()


def prepare_run(cfg: DictConfig) -> None:
    """Resolve the config once, seed every generator, and set the float32 matmul precision."""
    OmegaConf.resolve(cfg)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("matmul_precision"):
        torch.set_float32_matmul_precision(cfg.matmul_precision)


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T | FailedJob:
    """Run a task: a user error becomes one line and its exit code. In a sweep job a failure goes to the
    job's failure.txt and the sweep goes on; a stop by signal still exits (a scheduler requeues it)."""
    job_dir = Path(OmegaConf.select(cfg, "paths.output_dir", default=None) or ".")
    sweep_job = in_multirun()
    fresh = sweep_job and job_dir.is_dir() and not any(job_dir.iterdir())
    record = hydra_record(cfg) if fresh else {}  # a failed job's folder says what it was
    try:
        result = task(cfg)
    except Exception as err:
        found = one_line_error(err)
        if isinstance(found, signals.StopRequested):
            signals.hand_over(found)  # under SLURM this may requeue the job (and exit)
        elif sweep_job:
            reason = str(found or err)
            if fresh or claimed(job_dir):
                reason = record_failure(job_dir, err)
                write_record(job_dir, {} if claimed(job_dir) else record)
                release_log()
            log.error("job failed: %s (%s)", reason, job_dir)
            return FailedJob(reason)
        if found is None:
            raise
        exit_with_error(found, getattr(found, "exit_code", USER_ERROR_EXIT))
    claim(job_dir)  # done: its folder and log stay (evaluate and generate take theirs over only now)
    release_log()
    return result
