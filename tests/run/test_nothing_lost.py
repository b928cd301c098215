"""Nothing lost, nothing silent: what a refused, failed or interrupted start leaves behind, one process
per run folder, and one line for every failure, whoever raises it. Real processes, real signals, real
files: each test hashes what existed before and compares it afterwards.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from src.run.attempt import STATUS_FILE, read_status
from tests.helpers import PROJECT_ROOT, run_module

pytestmark = pytest.mark.slow

SMOKE = ["+experiment=smoke", "trainer.enable_progress_bar=false"]
LONG = ["data.num_images=2048", "trainer.max_epochs=50"]  # a run that is still training seconds later
NO_DATA = [
    "data.data_dir=/nonexistent",
    "data.download=false",
    "trainer=cpu",
    "trainer.enable_progress_bar=false",
]


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under `folder`, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def start(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "src.train", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.strip().splitlines() if line.startswith("error:")]


def one_line(result: subprocess.CompletedProcess | tuple, code: int = 2) -> str:
    """The process ended with `code` and exactly one `error:` line, the last, and no traceback."""
    returncode, stderr = (result.returncode, result.stderr) if hasattr(result, "stderr") else result
    assert returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    lines = error_lines(stderr)
    assert len(lines) == 1 and stderr.strip().splitlines()[-1] == lines[0], stderr[-2000:]
    return lines[0]


def wait_until_training(run: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = run / STATUS_FILE
        if status.is_file() and '"running"' in status.read_text():
            return
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        time.sleep(0.2)
    raise AssertionError("the run did not start training")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished smoke run (2 epochs, 16 steps): resumed, re-queued and locked by the tests below."""
    run = tmp_path_factory.mktemp("finished") / "run"
    result = run_module("src.train", *SMOKE, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    return run


# --- 1. a start that does not train changes nothing that existed, whatever ends it


@pytest.fixture
def users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.log").write_text("my notes\n")
    (folder / "train.log").write_text("my own train.log, not ganlab's\n")
    (folder / "data").mkdir()
    (folder / "data" / "table.csv").write_text("a,b\n1,2\n")
    return folder


@pytest.mark.parametrize(
    "args,expected",
    [
        ([*SMOKE, "model.latent_dim=0"], "model.latent_dim=0 is not allowed"),
        (NO_DATA, "CIFAR-10 not found"),
        ([*SMOKE, "+trainer.foo=1"], "trainer.foo=1 is not a Trainer setting"),
    ],
)
def test_a_refused_start_in_a_users_folder_leaves_it_byte_identical(users_folder, args, expected):
    before = snapshot(users_folder)
    result = run_module("src.train", *args, f"hydra.run.dir={users_folder}")
    assert expected in one_line(result)
    assert snapshot(users_folder) == before  # nothing changed, nothing added, nothing deleted


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_start_stopped_at_any_moment_leaves_a_users_folder_byte_identical(users_folder, signum):
    """The signal lands during the imports, Hydra's start, or the build; the start is refused (a bad
    data folder) if the signal comes too late to stop it."""
    before = snapshot(users_folder)
    for delay in (0.2, 1.5, 3.5):
        proc = start(*NO_DATA, f"hydra.run.dir={users_folder}")
        time.sleep(delay)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
        if signum != signal.SIGKILL and "stopped by" in stderr:
            line = one_line((proc.returncode, stderr), 128 + signum)
            assert line.startswith(f"error: stopped by {signal.Signals(signum).name} during start-up")
        created = set(snapshot(users_folder)) - set(before)
        assert created <= {".lock"}, created  # a kill -9 may leave the (empty) lock file it made
        assert {k: v for k, v in snapshot(users_folder).items() if k in before} == before, delay


def test_a_refused_new_run_leaves_no_folder(tmp_path):
    result = run_module("src.train", *SMOKE, "model.latent_dim=0", f"paths.log_dir={tmp_path / 'out'}")
    one_line(result)
    assert not (tmp_path / "out").exists()  # not even outputs/runs/: nothing for TensorBoard to list


# --- 2. a run's record changes only when an attempt trains with it


def test_stopping_a_resume_at_any_moment_changes_the_record_only_if_it_trained(finished_run, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished_run), str(run)], check=True)
    saved = snapshot(run)
    outcomes = []
    for signum, delay in [(signal.SIGINT, 0.3), (signal.SIGINT, 2.0), (signal.SIGTERM, 3.5),
                          (signal.SIGKILL, 4.5), (signal.SIGINT, 6.0), (signal.SIGTERM, 12.0)]:  # fmt: skip
        proc = start(f"resume={run}", "model.lr_g=0.5", "trainer.max_epochs=400", "data.num_images=512")
        time.sleep(delay)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=180)
        overrides = yaml.safe_load((run / ".hydra" / "overrides.yaml").read_text())
        # an attempt trains once its first step starts: it then writes its pid into status.json (a kill -9
        # may come before its first checkpoint, so the checkpoint's step cannot tell)
        trained = read_status(run).get("pid") == proc.pid
        outcomes.append(trained)
        # the record says lr_g=0.5 exactly when an attempt trained with it, never before
        assert ("model.lr_g=0.5" in overrides) == trained, (signum, delay, stderr[-1500:])
        if not trained:
            assert snapshot(run) == saved, (signum, delay)
        if signum != signal.SIGKILL:
            one_line((proc.returncode, stderr), 128 + signum)
    assert outcomes[0] is False and outcomes[-1] is True  # both kinds of moment were hit
    step = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"]
    plain = run_module("src.train", f"resume={run}", f"trainer.max_steps={step + 4}")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "model.lr_g=0.5" in (run / ".hydra" / "overrides.yaml").read_text()  # the trained record


def test_a_refused_requeue_keeps_the_record_and_the_command_it_suggests_works(finished_run, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished_run), str(run)], check=True)
    saved = snapshot(run)
    refused = run_module(
        "src.train", *SMOKE, "model.latent_dim=8", "trainer.max_epochs=3", f"hydra.run.dir={run}"
    )
    line = one_line(refused)
    assert "use model.latent_dim=16 (as it was trained), or resume with the run's own config" in line
    assert snapshot(run) == saved
    again = run_module("src.train", f"resume={run}", "trainer.max_epochs=3")  # what the line suggests
    assert again.returncode == 0, again.stderr[-2000:]
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 24


# --- 3. one process per run folder


def test_two_resumes_started_together_train_once_and_the_other_is_one_line(finished_run, tmp_path):
    run = tmp_path / "run"
    subprocess.run(["cp", "-a", str(finished_run), str(run)], check=True)
    longer = ["trainer.max_epochs=40", "data.num_images=1024", "trainer.enable_progress_bar=false"]
    procs = [start(f"resume={run}", *longer) for _ in "ab"]  # ~2,400 steps each: they overlap
    results = [(p.communicate(timeout=600)[1], p.returncode)[::-1] for p in procs]
    assert sorted(code for code, _ in results) == [0, 2], [e[-1500:] for _, e in results]
    (loser,) = [r for r in results if r[0] == 2]
    line = one_line(loser)
    assert f"{run} is in use by process" in line and "src.train" in line
    assert not [p.name for p in (run / "checkpoints").iterdir() if "-v" in p.name]  # no -v1 copies
    steps = [int(s.split("-step")[1][:7]) for s in os.listdir(run / "checkpoints") if "-step" in s]
    assert sorted(steps) == [8, 16, *range(16 + 64, 16 + 64 * 38 + 1, 64)]  # each epoch once


def test_a_second_process_is_refused_while_one_trains_and_a_killed_ones_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    first = start(*SMOKE, *LONG, f"hydra.run.dir={run}")
    try:
        wait_until_training(run, first)
        second = run_module("src.train", f"resume={run}", "trainer.max_epochs=60")
        line = one_line(second)
        assert f"in use by process {first.pid}" in line
    finally:
        first.kill()  # kill -9: its lock goes with it
        first.wait()
    last = run / "checkpoints" / "last.ckpt"
    step = torch.load(last, weights_only=False)["global_step"] if last.is_file() else 0
    # the same command again (a re-queued job): the lock of the killed process is free
    budget = ["data.num_images=2048", "trainer.max_epochs=-1", f"trainer.max_steps={step + 2}"]
    requeued = run_module("src.train", *SMOKE, *budget, f"hydra.run.dir={run}")
    assert requeued.returncode == 0, requeued.stderr[-2000:]
    assert torch.load(last, weights_only=False)["global_step"] == step + 2
