"""What every command-line entry point does around its task: set up the console and the config
resolvers, seed, and turn a user error into one line (or, in a sweep job, into a recorded failure).

`import src` installs nothing: the entry points call `setup()` first.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src.core import signals
from src.core.errors import USER_ERROR_EXIT, exit_with_error, user_error
from src.run.console import quiet_known_messages
from src.run.resolvers import register_resolvers
from src.run.resume import hydra_files_settled
from src.run.sweep import FAILURE_FILE, in_multirun, record_failure

T = TypeVar("T")
log = logging.getLogger(__name__)


def setup() -> None:
    """The console filters of known-harmless messages and the resolvers conf/ uses."""
    quiet_known_messages()
    register_resolvers()


def prepare_run(cfg: DictConfig) -> None:
    """Resolve the config once, seed every generator, and set the float32 matmul precision."""
    OmegaConf.resolve(cfg)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("matmul_precision"):
        torch.set_float32_matmul_precision(cfg.matmul_precision)


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T | float:
    """Run an entry point's task. A user error becomes one line on stderr and its exit code (2 for a
    bad value, 3 for a diverged run, 128 + N for a stop by signal N, after the signal's previous owner,
    e.g. submitit, had its say). In a sweep job any other failure too is recorded in the job's
    failure.txt and becomes NaN, so the sweep goes on (a stop by signal still exits, so that the
    scheduler requeues or ends the job). A run folder that holds nothing of its own is removed."""
    job_dir = Path(OmegaConf.select(cfg, "paths.output_dir", default=None) or ".")
    sweep_job = in_multirun()
    if sweep_job:
        (job_dir / FAILURE_FILE).unlink(missing_ok=True)  # a requeued or rerun job starts clean
    try:
        return task(cfg)
    except Exception as err:
        found = user_error(err)
        if isinstance(found, signals.StopRequested):
            signals.hand_over(found)  # under SLURM this may requeue the job (and exit)
        elif sweep_job:
            log.error("job failed: %s (%s)", record_failure(job_dir, err), job_dir / FAILURE_FILE)
            return math.nan
        hydra_files_settled(job_dir, trained=False)  # a failed resume leaves the run's config as it was
        if found is None:
            raise
        if remove_if_unused(job_dir):
            command_dir = job_dir.parent  # evaluate/generate: <run>/<command>/<time>
            if command_dir.name == cfg.get("task_name") and not any(command_dir.iterdir()):
                command_dir.rmdir()
        exit_with_error(found, getattr(found, "exit_code", USER_ERROR_EXIT))


def remove_if_unused(run_dir: Path) -> bool:
    """Remove a failed run's folder when it holds nothing of its own: only Hydra's `.hydra/` and log
    files (a bad value, a missing data set). A folder with anything else (a checkpoint, events, a
    resumed run's history) is kept untouched. Returns whether it was removed."""
    if not run_dir.is_dir() or run_dir == Path("."):
        return False
    for path in run_dir.rglob("*"):
        inside_hydra = path.relative_to(run_dir).parts[0] == ".hydra"
        if path.is_file() and not inside_hydra and path.suffix != ".log":
            return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True
