"""`python -m src.evaluate`: one JSON line of FID/KID/IS and its protocol, metrics.json beside the
checkpoint, the real-data floor, and one line for a missing checkpoint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from omegaconf import DictConfig

from src.core.errors import USER_ERROR_EXIT
from src.evaluate import evaluate
from src.run.entry import run_task
from tests.conftest import compose_into
from tests.helpers import run_module


def evaluate_cli(*args: str) -> subprocess.CompletedProcess:
    return run_module("src.evaluate", *args)


def evaluate_cfg(output_dir: Path, *overrides: str) -> DictConfig:
    return compose_into(output_dir, *overrides, config_name="evaluate")


def small_protocol(fid_run, cache: Path) -> list[str]:
    return [
        "data=synthetic",
        "data.num_images=40",
        "batch_size=20",
        "kid.subsets=3",
        "kid.subset_size=16",
        "progress=false",
        f"metrics.weights_path={fid_run.weights}",
        f"metrics.cache_dir={cache}",
        "metrics.allow_download=false",
    ]


@pytest.mark.slow
def test_evaluate_prints_one_json_line_writes_metrics_json_and_stays_above_the_floor(fid_run, tmp_path):
    common = small_protocol(fid_run, tmp_path / "cache")
    result = evaluate_cli(
        f"ckpt_path={fid_run.last_ckpt}", "n_samples=40", f"hydra.run.dir={tmp_path / 'ev'}", *common
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["fid"] > 0 and line["is"] is None and "no logits" in line["protocol"]["is"]
    assert line["protocol"]["n_generated"] == 40 and line["protocol"]["n_real"] == 40
    assert line["protocol"]["generator"] == "ema"
    assert {"precision", "recall", "density", "coverage"} <= set(line) and 0 <= line["coverage"] <= 1
    assert line["protocol"]["prdc"].startswith("k=3, 40 real vs 40 generated")
    stored = json.loads((fid_run.last_ckpt.parent / "metrics.json").read_text())
    assert stored["last.ckpt"]["fid"] == pytest.approx(line["fid"])

    # the floor, in this process (the command line above is the same `run_task(evaluate, cfg)`)
    floor = evaluate(evaluate_cfg(tmp_path / "floor", "data_only=true", *common))
    assert floor["protocol"]["evaluated"].startswith("SyntheticDataModule:test")
    assert 0 <= floor["fid"] < line["fid"]  # real test images are closer than 3 epochs of a tiny GAN
    assert json.loads((tmp_path / "floor" / "metrics.json").read_text())["data_only"]["fid"] == floor["fid"]


def test_evaluate_without_checkpoint_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_task(evaluate, evaluate_cfg(tmp_path, "ckpt_path=/nowhere/x.ckpt"))
    assert exit_.value.code == USER_ERROR_EXIT
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: ckpt_path='/nowhere/x.ckpt' is missing: give a .ckpt written by src.train"]
    with pytest.raises(SystemExit):
        run_task(evaluate, evaluate_cfg(tmp_path))  # neither a checkpoint nor data_only
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ckpt_path=null is not allowed: give a checkpoint")


@pytest.mark.slow
def test_a_truncated_checkpoint_is_one_line_before_any_feature_pass(fid_run, tmp_path):
    """As `src.train` says for the same file (tests/run/test_faults.py), not a traceback."""
    truncated = tmp_path / "run" / "checkpoints" / "truncated.ckpt"
    truncated.parent.mkdir(parents=True)
    truncated.write_bytes(fid_run.last_ckpt.read_bytes()[:1000])
    result = evaluate_cli(f"ckpt_path={truncated}", *small_protocol(fid_run, tmp_path / "cache"))
    assert result.returncode == USER_ERROR_EXIT, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and lines[-1].startswith(f"error: ckpt_path={str(truncated)!r}")
    assert "is not a readable checkpoint" in lines[-1] and "truncated" in lines[-1]
    assert not (tmp_path / "cache" / "fid_stats").exists()  # it stopped before the reference statistics


@pytest.mark.slow
def test_a_broken_metrics_json_loses_no_score_and_is_left_as_it_was(fid_run, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    ckpt = run / "checkpoints" / "last.ckpt"
    ckpt.write_bytes(fid_run.last_ckpt.read_bytes())
    (run / "checkpoints" / "metrics.json").write_text('{"last.ckpt": {"fid": 1')  # cut short
    result = evaluate_cli(f"ckpt_path={ckpt}", "n_samples=40", *small_protocol(fid_run, tmp_path / "cache"))
    assert result.returncode == USER_ERROR_EXIT, result.stderr[-2000:]
    scores = json.loads(result.stdout.strip().splitlines()[-1])  # the scores reached the console ...
    (own,) = (run / "evaluate").glob("*/scores.json")
    assert json.loads(own.read_text())["fid"] == scores["fid"]  # ... and the disk
    assert (run / "checkpoints" / "metrics.json").read_text() == '{"last.ckpt": {"fid": 1'
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "is not valid JSON" in line and str(own) in line


def test_more_real_images_than_the_data_set_holds_is_one_line(fid_run, tmp_path, capsys):
    common = small_protocol(fid_run, tmp_path / "cache")
    with pytest.raises(SystemExit):
        run_task(evaluate, evaluate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", "n_real=5000", *common))
    (line,) = capsys.readouterr().err.strip().splitlines()
    expected = (
        "n_real=5000 is more than the 40 images of the train split: use n_real <= 40 (null: all of them)"
    )
    assert line == f"error: {expected}"
