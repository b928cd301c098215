"""`python -m src.report`: one table (CSV + Markdown) and one plot from the job folders of a sweep."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

from src.core.errors import GanlabError
from src.report import report
from src.run.sweep import FAILURE_FILE
from tests.helpers import PROJECT_ROOT


def fake_job(sweep: Path, name: str, overrides: list[str], scalars: dict[str, list[float]]) -> None:
    """A job folder as Hydra and TensorBoard leave it: .hydra/overrides.yaml and an event file."""
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    writer = SummaryWriter(str(job))
    for tag, values in scalars.items():
        for step, value in enumerate(values):
            writer.add_scalar(tag, value, global_step=step)
    writer.close()


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "multirun" / "2026_mlp_vs_dcgan"
    common = ["+experiment=mlp_vs_dcgan", "trainer.max_steps=100"]
    fake_job(sweep, "1_model=dcgan", [*common, "model=dcgan"], {"loss/g": [3.0, 2.0], "loss/d": [1.0, 0.5]})
    fake_job(
        sweep, "0_model=mlp_gan", [*common, "model=mlp_gan"], {"loss/g": [4.0, 5.0], "loss/d": [1.0, 1.5]}
    )
    (sweep / "multirun.yaml").write_text("hydra: {}\n")  # Hydra's own file at the sweep root is not a job
    return sweep


def test_table_holds_overrides_and_last_values(sweep):
    rows, table = report(sweep)
    assert [(r["job"], r["model"], r["loss/g"], r["loss/d"]) for r in rows] == [
        ("0", "mlp_gan", 5.0, 1.5),
        ("1", "dcgan", 2.0, 0.5),
    ]
    assert rows[0]["experiment"] == "mlp_vs_dcgan" and rows[0]["trainer.max_steps"] == "100"
    lines = table.splitlines()
    assert lines[0] == "| job | status | model | experiment | trainer.max_steps | loss/d | loss/g |"
    assert lines[2] == "| 0 | ok | mlp_gan | mlp_vs_dcgan | 100 | 1.5 | 5 |"
    with open(sweep / "report.csv") as f:
        written = list(csv.DictReader(f))
    assert [(r["model"], float(r["loss/g"])) for r in written] == [("mlp_gan", 5.0), ("dcgan", 2.0)]
    assert (sweep / "report.md").read_text() == table
    png = sweep / "report_loss_g.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_failed_and_unfinished_jobs_are_listed_not_missing(sweep):
    fake_job(sweep, "2_model=cdcgan", ["model=cdcgan"], {})
    (sweep / "2_model=cdcgan" / FAILURE_FILE).write_text("error: model.latent_dim=0 is not allowed\n")
    fake_job(sweep, "3_model=mlp_gan,seed=1", ["model=mlp_gan", "seed=1"], {})  # killed before a step
    rows, table = report(sweep, metric="loss/g")
    assert [(r["job"], r["status"]) for r in rows] == [
        ("0", "ok"),
        ("1", "ok"),
        ("2", "failed: model.latent_dim=0 is not allowed"),
        ("3", "no results"),
    ]
    assert "| 2 | failed: model.latent_dim=0 is not allowed |  |  | cdcgan |" in table


def test_fid_is_the_default_metric_when_logged(sweep):
    fake_job(sweep, "2_model=cdcgan", ["model=cdcgan"], {"loss/g": [1.0], "metrics/fid": [40.0, 30.0]})
    rows, _ = report(sweep)
    assert rows[2]["metrics/fid"] == 30.0 and "metrics/fid" not in rows[0]
    assert (sweep / "report_metrics_fid.png").is_file()
    report(sweep, metric="loss/d")
    assert (sweep / "report_loss_d.png").is_file()


def test_unknown_metric_and_empty_folder_are_one_line(sweep, tmp_path):
    with pytest.raises(GanlabError) as err:
        report(sweep, metric="metrics/nope")
    message = str(err.value)
    assert message.startswith("--metric 'metrics/nope' was not logged by these jobs: use one of")
    assert "loss/d" in message and "\n" not in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanlabError) as err:
        report(tmp_path / "empty")
    assert "holds no job folders" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_command_line_prints_the_table(sweep):
    result = subprocess.run(
        [sys.executable, "-m", "src.report", str(sweep), "--metric", "loss/d"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2].startswith("| 0 | ok | mlp_gan |")


def test_job_folders_nested_by_a_path_override_are_found(tmp_path):
    sweep = tmp_path / "multirun" / "nested"
    fake_job(sweep, "0_x=a/b", ["model=mlp_gan", "x=a/b"], {"loss/g": [1.0]})
    fake_job(sweep, "1_x=a/b", ["model=dcgan", "x=a/b"], {"loss/g": [2.0]})
    rows, _ = report(sweep)
    assert [(r["job"], r["model"], r["loss/g"]) for r in rows] == [("0", "mlp_gan", 1.0), ("1", "dcgan", 2.0)]


def test_status_says_what_became_of_each_job(sweep):
    """From each job's status.json and lock: finished, stopped (at which step of how many), killed,
    running (the live holder named), failed; a job of the plan with no folder is listed as not started."""
    from src.run.attempt import RunLock, write_status

    write_status(sweep / "0_model=mlp_gan", state="stopped", step=50, steps=240, reason="stopped by SIGTERM")
    write_status(sweep / "1_model=dcgan", state="running", step=0, steps=240)  # its process was killed
    fake_job(sweep, "2_model=cdcgan", ["model=cdcgan"], {"loss/g": [1.0, 2.0]})
    write_status(sweep / "2_model=cdcgan", state="running", step=0, steps=240)
    lock = RunLock(sweep / "2_model=cdcgan").acquire()  # this process trains it
    try:
        rows, _ = report(sweep, metric="loss/g")
    finally:
        lock.release(keep_file=True)
    status = {r["job"]: r["status"] for r in rows}
    assert status["0"] == "stopped at step 50 of 240"
    assert status["1"] == "killed after step 1 of 240"  # the last step its event files hold
    assert status["2"].startswith("running (step 1 of 240; process ") and "pytest" in status["2"]
    write_status(sweep / "2_model=cdcgan", state="finished", step=240, steps=240)
    assert {r["job"]: r["status"] for r in report(sweep)[0]}["2"] == "ok"


def test_jobs_of_the_plan_that_never_started_are_listed(sweep):
    (sweep / "multirun.yaml").write_text(
        "hydra:\n  sweeper:\n    _target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper\n"
        "    params: null\n  overrides:\n"
        "    task: ['+experiment=mlp_vs_dcgan', 'model=mlp_gan,dcgan,cdcgan']\n"
    )
    rows, table = report(sweep)
    assert [(r["job"], r["status"], r["model"]) for r in rows] == [
        ("0", "ok", "mlp_gan"),
        ("1", "ok", "dcgan"),
        ("2", "not started", "cdcgan"),
    ]
    assert "| 2 | not started |" in table


def test_a_sweep_whose_jobs_all_failed_is_a_table_of_failures(tmp_path):
    sweep = tmp_path / "sweep"
    for n in (0, 1):
        fake_job(sweep, f"{n}_latent_dim={n - 1}", [f"model.latent_dim={n - 1}"], {})
        (sweep / f"{n}_latent_dim={n - 1}" / FAILURE_FILE).write_text(
            f"error: model.latent_dim={n - 1} bad\n"
        )
    rows, table = report(sweep)  # no metric was logged: a table, no plot, no error
    assert [r["status"] for r in rows] == [
        "failed: model.latent_dim=-1 bad",
        "failed: model.latent_dim=0 bad",
    ]
    assert not list(sweep.glob("report_*.png"))


@pytest.mark.slow
def test_a_sweep_stopped_by_a_signal_reports_the_stopped_job_and_the_ones_not_started(tmp_path):
    import signal
    import time

    args = [
        "-m",
        "+experiment=smoke",
        "model.latent_dim=8,16,32",
        "data.num_images=2048",
        "trainer.max_epochs=3",
    ]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "src.train",
            *args,
            f"paths.log_dir={tmp_path}",
            "trainer.enable_progress_bar=false",
        ],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not list(tmp_path.glob("multirun/*/0_*/status.json")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate(timeout=120)[1]
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    (sweep,) = (tmp_path / "multirun").iterdir()
    rows, _ = report(sweep, metric="loss/g")
    assert [r["status"].split(" at step")[0] for r in rows] == ["stopped", "not started", "not started"]
    assert rows[0]["status"].endswith(" of 384")  # 2048 images / batch 16 = 128 steps, 3 epochs
    assert [r["model.latent_dim"] for r in rows] == ["8", "16", "32"]


def test_every_jobs_last_sample_grid_is_shown_side_by_side(sweep):
    from torchvision.utils import save_image

    for job, shade in (("0_model=mlp_gan", 0.2), ("1_model=dcgan", 0.8)):
        (sweep / job / "samples").mkdir()
        save_image(torch.full((3, 20, 20), shade), sweep / job / "samples" / "epoch_0000.png")
        save_image(torch.full((3, 20, 20), shade), sweep / job / "samples" / "final_step_0000100.png")
    rows, _ = report(sweep)
    assert all("_dir" not in r for r in rows)  # the folder is not a column
    png = sweep / "report_grids.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
