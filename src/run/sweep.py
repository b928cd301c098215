"""Sweeps that survive their jobs: a failing job is recorded in its folder (`failure.txt`) and the
others go on. `SweepSummary` (a Hydra callback) refuses, before any job, a sweep that would run nothing
or that Optuna would reject halfway, keeps the sweep's plan for `src.report`, and at the end names the
failed jobs and exits 1."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from src.core.errors import ConfigError, exit_with_error, user_error
from src.run.config_checks import validate_objective

log = logging.getLogger(__name__)

FAILURE_FILE = "failure.txt"
PLAN_FILE = "multirun.yaml"  # the sweep's config, as Hydra's basic sweeper saves it


class FailedJob:
    """What a failed sweep job returns: Optuna counts the trial as failed and goes on (NaN would not
    do: Optuna 2 refuses to record it and stops the search)."""

    def __init__(self, reason: str):
        self.reason = reason

    def __float__(self) -> float:
        raise ValueError(f"the job failed: {self.reason}")

    def __repr__(self) -> str:
        return f"failed job ({self.reason})"


def in_multirun() -> bool:
    """True inside a job of a Hydra sweep (`-m`)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


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
    paths = sorted(sweep_dir.glob(f"**/{FAILURE_FILE}"))
    return {p.parent: (p.read_text().splitlines() or ["unknown"])[0].removeprefix("error: ") for p in paths}


def sweep_arguments(config: DictConfig) -> list[str]:
    """The sweep's `key=value` arguments: the sweeper's params, then the command line's overrides."""
    params = config.hydra.sweeper.get("params") or {}
    return [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)


def is_basic_sweeper(config: DictConfig) -> bool:
    return "BasicSweeper" in str(config.hydra.sweeper.get("_target_", "BasicSweeper"))


def planned_jobs(config: DictConfig) -> list[list[str]] | int:
    """The overrides of every job the sweep will launch (basic sweeper), or Optuna's number of trials."""
    if not is_basic_sweeper(config):
        return int(config.hydra.sweeper.get("n_trials") or 0)
    parsed = OverridesParser.create().parse_overrides(sweep_arguments(config))
    return BasicSweeper.split_arguments(parsed, None)[0]


def check_search_space(config: DictConfig) -> None:
    """An Optuna search over at least one parameter, each interval low <= high (and > 0 on a log scale)."""
    parsed = OverridesParser.create().parse_overrides(sweep_arguments(config))
    searched = [o for o in parsed if o.is_sweep_override()]
    if not searched:
        raise ConfigError(
            "the Optuna search space is empty: give hydra.sweeper.params (conf/hparams_search/optuna.yaml) "
            "or a swept override, e.g. model.lr_g='tag(log, interval(1e-5, 1e-3))'"
        )
    for override in searched:
        value, key = override.value(), override.get_key_element()
        if isinstance(value, IntervalSweep):
            if value.start > value.end:
                raise ConfigError(
                    f"{key}=interval({value.start}, {value.end}) is reversed: use "
                    f"interval({value.end}, {value.start}) (low, high)"
                )
            if "log" in value.tags and value.start <= 0:
                raise ConfigError(f"{key}=tag(log, interval({value.start}, ...)) needs a low end > 0")


class SweepSummary(Callback):
    """Before a sweep: refuse one that would run no job or an invalid search space, and keep its plan.
    At its end: one line per failed job, then a non-zero exit if any failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:  # Hydra turns a callback's exception into a warning: a refusal exits here
            validate_objective(config)  # the same for every job: checked once
            if not is_basic_sweeper(config):
                check_search_space(config)
            elif not planned_jobs(config):
                raise ConfigError("this sweep has no jobs: a swept value list is empty (e.g. range(5, 1))")
        except ConfigError as err:
            exit_with_error(err)
        if not is_basic_sweeper(config):  # the basic sweeper saves it itself, Optuna's does not
            sweep_dir = Path(config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(config, sweep_dir / PLAN_FILE)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        failures = failed_jobs(sweep_dir)
        if not failures:
            return
        for job_dir, reason in failures.items():
            log.error("failed: %s: %s", job_dir.name, reason)
        total = len(list(sweep_dir.glob("**/.hydra/overrides.yaml")))
        names = ", ".join(p.name for p in failures)
        exit_with_error(f"{len(failures)} of {total} sweep jobs failed (see failure.txt in each): {names}", 1)
