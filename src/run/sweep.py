"""Sweeps that survive their jobs: a failing job is recorded in its folder and the others go on.

A job of a sweep (`-m`, any launcher) that fails writes `failure.txt` in its folder (the one-line
reason first, then the traceback of an unexpected error) and returns NaN, which Optuna counts as a
failed trial (src/run/entry.py: run_task). When the sweep ends, `SweepSummary` (a Hydra callback,
conf/hydra/default.yaml) names the failed jobs and exits non-zero; `python -m src.report` lists them.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from src.core.errors import ConfigError, exit_with_error, user_error

log = logging.getLogger(__name__)

FAILURE_FILE = "failure.txt"
SWEEP_FAILED_EXIT = 1


def in_multirun() -> bool:
    """True inside a job of a Hydra sweep (`-m`)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def objective(logged: Mapping[str, Any], name: str | None) -> float | None:
    """The final value of metric `name` among the run's logged metrics (None when `name` is None)."""
    if name is None:
        return None
    if name not in logged:
        allowed = ", ".join(sorted(logged)) or "none"
        raise ConfigError(f"optimized_metric={name!r} was not logged by this run: logged are {allowed}")
    return float(logged[name])


def record_failure(job_dir: Path, err: BaseException) -> str:
    """Write the job's failure.txt; returns its one-line reason."""
    found = user_error(err)
    reason = str(found) if found is not None else f"{type(err).__name__}: {err}"
    text = f"error: {reason}\n"
    if found is None:
        text += "\n" + "".join(traceback.format_exception(err))
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / FAILURE_FILE).write_text(text)
    return reason


def failed_jobs(sweep_dir: Path) -> dict[Path, str]:
    """Job folder -> one-line reason, for every job of the sweep that recorded a failure."""
    failures = {}
    for path in sorted(sweep_dir.glob(f"**/{FAILURE_FILE}")):
        first = path.read_text().splitlines()[:1]
        failures[path.parent] = first[0].removeprefix("error: ") if first else "unknown"
    return failures


class SweepSummary(Callback):
    """At the end of a sweep: one line per failed job, then a non-zero exit if any failed."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        failures = failed_jobs(sweep_dir)
        if not failures:
            return
        for job_dir, reason in failures.items():
            log.error("failed: %s: %s", job_dir.name, reason)
        total = len(list(sweep_dir.glob("**/.hydra/overrides.yaml")))
        exit_with_error(
            f"{len(failures)} of {total} sweep jobs failed (see failure.txt in each): "
            + ", ".join(p.name for p in failures),
            SWEEP_FAILED_EXIT,
        )
