"""src/run/sweep.py: the objective a sweeper optimises, and sweeps that go on when a job fails."""

from __future__ import annotations

import math

import pytest
import torch
import yaml

from src.core.errors import ConfigError
from src.metrics.registry import direction as metric_direction
from src.run.sweep import FAILURE_FILE, failed_jobs, record_failure
from src.train import objective
from tests.helpers import run_module


def test_objective_is_the_logged_value_and_a_missing_one_is_named():
    logged = {"loss/d": torch.tensor(0.25), "metrics/fid": torch.tensor(40.0)}
    assert objective(logged, "metrics/fid") == 40.0
    assert objective(logged, None) is None
    with pytest.raises(
        ConfigError, match=r"optimized_metric='metrics/kid' was not logged.*loss/d, metrics/fid"
    ):
        objective(logged, "metrics/kid")


def test_direction_follows_the_metric():
    assert metric_direction("metrics/fid") == "minimize"
    assert metric_direction("loss/d") == "minimize"
    assert metric_direction("metrics/class_entropy") == "maximize"


def test_failure_file_has_the_reason_first_and_a_traceback_for_a_bug(tmp_path):
    assert record_failure(tmp_path / "a", ConfigError("seed='x' is not allowed")) == "seed='x' is not allowed"
    assert (tmp_path / "a" / FAILURE_FILE).read_text() == "error: seed='x' is not allowed\n"
    try:
        raise KeyError("boom")
    except KeyError as err:
        record_failure(tmp_path / "b", err)
    text = (tmp_path / "b" / FAILURE_FILE).read_text()
    assert text.startswith("error: KeyError: 'boom'\n") and "Traceback" in text
    assert failed_jobs(tmp_path) == {
        tmp_path / "a": "seed='x' is not allowed",
        tmp_path / "b": "KeyError: 'boom'",
    }


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_sweep_goes_on_then_exits_non_zero(tmp_path):
    result = run_module(
        "src.train",
        "-m",
        "+experiment=smoke",
        "model.latent_dim=0,8",
        f"paths.log_dir={tmp_path}",
        "trainer.enable_progress_bar=false",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    (sweep,) = (tmp_path / "multirun").iterdir()
    bad, good = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert (bad / FAILURE_FILE).read_text().startswith("error: model.latent_dim=0 is not allowed")
    assert not (good / FAILURE_FILE).exists()
    assert (good / "checkpoints" / "last.ckpt").is_file()  # the job after the failed one trained
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 of 2 sweep jobs failed")


@pytest.mark.slow
def test_optuna_search_returns_the_metric_and_writes_the_best_trial(tmp_path):
    from src.report import report

    result = run_module(
        "src.train",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        "+experiment=smoke",
        "optimized_metric=loss/d",
        f"paths.log_dir={tmp_path}",
        "trainer.enable_progress_bar=false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (sweep,) = (tmp_path / "multirun").iterdir()
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    rows, _ = report(sweep, metric="loss/d")
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    trial_values = [r["loss/d"] for r in rows]
    assert math.isclose(best["best_value"], min(trial_values), rel_tol=1e-6)  # the trials' own final loss/d
    assert set(best["best_params"]) == {"model.lr_g", "model.lr_d", "model.latent_dim", "data.batch_size"}
