"""What every command-line entry point does around its task: set up the console and the config
resolvers, seed, and turn any error a user can act on into one line (in a sweep job, into a recorded
failure), whoever raised it.

`import src` installs nothing: the entry points call `main()`, which calls `setup()` first.
"""

from __future__ import annotations

import logging
import os
import sys
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
from src.run.sweep import in_multirun, record_failure

T = TypeVar("T")
log = logging.getLogger(__name__)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


def setup() -> None:
    """The console filters of known-harmless messages and the resolvers conf/ uses."""
    quiet_known_messages()
    register_resolvers()


def config_paths(config_name: str, key: str) -> list[str]:
    """The dotted keys of the config this command line composes without `key` (for a "did you mean");
    [] when that cannot be composed either."""
    from hydra import compose, initialize_config_dir

    given = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
    kept = [a for a in given if a.split("=", 1)[0].lstrip("+~") != key]
    try:
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name, overrides=kept)
    except Exception:
        return []

    def paths(node: DictConfig, prefix: str) -> list[str]:
        found = []
        for k in node:
            found.append(f"{prefix}{k}")
            if not OmegaConf.is_interpolation(node, k) and isinstance(node[k], DictConfig):
                found += paths(node[k], f"{prefix}{k}.")
        return found

    return paths(cfg, "")


def main(hydra_main: Callable[[], Any], config_name: str) -> None:
    """Run an entry point's Hydra main. An error outside its task (Hydra composing the config, a
    sweeper's check, the OS making a folder) becomes one line and exit 2; folders this process made
    for a start that never took them over are removed (src/run/attempt.py)."""
    signals.raise_at_once()
    setup()
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra re-raises instead of printing a traceback block
    try:
        hydra_main()
    except Exception as exc:
        found = one_line_error(exc, lambda key: config_paths(config_name, key))
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


class FailedJob:
    """What a failed sweep job returns: a sweeper that asks for its value (Optuna) counts the trial as
    failed and goes on (NaN would not do: Optuna 2 refuses to record it and stops the search)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __float__(self) -> float:
        raise ValueError(f"the job failed: {self.reason}")

    def __repr__(self) -> str:
        return f"failed job ({self.reason})"


def run_task(task: Callable[[DictConfig], T], cfg: DictConfig) -> T | float:
    """Run an entry point's task. A user error becomes one line on stderr and its exit code (2 for a
    bad value, 3 for a diverged run, 128 + N for a stop by signal N, after the signal's previous owner,
    e.g. submitit, had its say). In a sweep job any other failure too is recorded in the job's
    failure.txt (when the job's folder was new) and returns a FailedJob, so the sweep goes on (a stop by
    signal still exits, so that the scheduler requeues or ends the job)."""
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
            if fresh or claimed(job_dir):
                reason = record_failure(job_dir, err)
                if not claimed(job_dir):
                    write_record(job_dir, record)
                release_log()
            else:  # a folder this attempt never took over: left as it was
                reason = str(found or err)
            log.error("job failed: %s (%s)", reason, job_dir)
            return FailedJob(reason)  # type: ignore[return-value]
        if found is None:
            raise
        exit_with_error(found, getattr(found, "exit_code", USER_ERROR_EXIT))
    claim(job_dir)  # done: its folder and log stay (evaluate and generate take theirs over only now)
    release_log()
    return result
