"""On a real SLURM cluster (the local single-node one of ../shared/slurm): sweeps as SLURM jobs through
Hydra's submitit launcher, a requeued job that ends bit-identical to an uninterrupted run, an Optuna
search whose trials are SLURM jobs, and DDP with 2 tasks (gloo, CPU) inside one allocation.

The cluster is started by the `slurm` fixture (`start-local-slurm.sh`, root only); where it cannot
start, every test here is skipped with the reason."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.helpers import PROJECT_ROOT, SaveRankWeights, run_module

pytestmark = pytest.mark.slow

# the workplace's cluster script: beside the checkout (../shared) or at its usual place
START_SCRIPT = next(
    (
        path
        for path in (
            Path(os.environ.get("GANLAB_SLURM_START", "/nonexistent")),
            PROJECT_ROOT.parent / "shared" / "slurm" / "start-local-slurm.sh",
            Path("/work/shared/slurm/start-local-slurm.sh"),
        )
        if path.is_file()
    ),
    PROJECT_ROOT.parent / "shared" / "slurm" / "start-local-slurm.sh",
)
SLURM = ["hydra/launcher=slurm", "hydra.launcher.partition=debug", "hydra.launcher.timeout_min=10"]
QUIET = ["trainer.enable_progress_bar=false"]
# long enough (6 epochs of 16 steps) to be requeued in the middle, with a checkpoint every 4 steps
REQUEUED = [
    "+experiment=smoke",
    "data.num_images=256",
    "trainer.max_epochs=6",
    "callbacks.checkpoint.every_n_steps=4",
    *QUIET,
]


@pytest.fixture(scope="session")
def slurm() -> None:
    """A running local SLURM cluster, or a skip that says why there is none."""
    if not START_SCRIPT.is_file():
        pytest.skip(f"no local SLURM cluster script at {START_SCRIPT}")
    if os.geteuid() != 0:
        pytest.skip("starting the local SLURM cluster needs root")
    try:
        started = subprocess.run([str(START_SCRIPT)], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.skip("the local SLURM cluster did not start within 10 minutes")
    if started.returncode != 0:
        pytest.skip(f"the local SLURM cluster did not start: {(started.stdout + started.stderr)[-500:]}")


def sweep_dir(log_dir: Path) -> Path:
    (sweep,) = (log_dir / "multirun").iterdir()
    return sweep


def job_dirs(sweep: Path) -> list[Path]:
    return sorted(p.parent.parent for p in sweep.glob("**/.hydra/overrides.yaml"))


def slurm_job_ids(sweep: Path) -> list[str]:
    """The SLURM job ids submitit used (its folder per job: .submitit/<id>)."""
    return sorted({p.name.split("_")[0] for p in (sweep / ".submitit").iterdir() if p.is_dir()})


def sacct_states(job_id: str) -> list[str]:
    """Every state the job went through (a requeued job has one line per run), polled: sacct lags."""
    for _ in range(40):
        out = subprocess.run(
            ["sacct", "-j", job_id, "-X", "-D", "-n", "-o", "State"], capture_output=True, text=True
        ).stdout.split()
        if out and out[-1] not in ("RUNNING", "PENDING", "REQUEUED"):
            return out
        time.sleep(0.5)
    return out


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_a_sweep_runs_each_job_as_a_slurm_job(slurm, tmp_path):
    result = run_module(
        "src.train",
        "-m",
        *SLURM,
        "+experiment=smoke",
        "model.latent_dim=8,16",
        f"paths.log_dir={tmp_path}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    jobs = job_dirs(sweep)
    assert [re.search(r"latent_dim:(\d+)", p.name).group(1) for p in jobs] == ["8", "16"]
    for job in jobs:
        assert len(scalars(job, "loss/d")) >= 2  # each job wrote its own TensorBoard run
        assert (job / "checkpoints" / "last.ckpt").is_file()
    ids = slurm_job_ids(sweep)
    assert len(ids) == 2 or (len(ids) == 1 and len(list((sweep / ".submitit").glob(f"{ids[0]}_*"))) == 2)
    for job_id in ids:
        assert sacct_states(job_id)[-1] == "COMPLETED"


def wait_for(path_glob: str, root: Path, timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(root.glob(path_glob))
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"{path_glob} did not appear under {root} within {timeout} s")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The REQUEUED run without SLURM and without a stop: what a requeued job must end as."""
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    result = run_module("src.train", *REQUEUED, f"hydra.run.dir={run_dir}")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def assert_same_run(job: Path, reference: Path) -> None:
    """Weights, optimizer states, step and every logged loss of `job` are those of `reference`."""
    resumed, uninterrupted = (
        torch.load(d / "checkpoints" / "last.ckpt", weights_only=False) for d in (job, reference)
    )
    assert resumed["global_step"] == uninterrupted["global_step"] == 6 * 16
    for key, value in uninterrupted["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    for mine, theirs in zip(resumed["optimizer_states"], uninterrupted["optimizer_states"]):
        for s, t in zip(mine["state"].values(), theirs["state"].values()):
            assert all(torch.equal(s[k], t[k]) for k in t)
    steps = [step for step, _ in scalars(job, "loss/d")]
    assert steps == sorted(set(steps))  # each step on the curve once
    assert scalars(job, "loss/d") == scalars(reference, "loss/d")


def interrupt_once(log_dir: Path, interrupt: list[str]) -> tuple[Path, str, str]:
    """Run REQUEUED as a one-job SLURM sweep, run `interrupt + [job id]` once the job has written its
    first checkpoint (step 4), wait for the sweep to end; returns the job folder, id and logs."""
    sweep_run = subprocess.Popen(
        [sys.executable, "-m", "src.train", "-m", *SLURM, *REQUEUED, f"paths.log_dir={log_dir}"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for("multirun/*/0_*/checkpoints/last.ckpt", log_dir)
        sweep = sweep_dir(log_dir)
        (job_id,) = slurm_job_ids(sweep)
        sent = subprocess.run([*interrupt, job_id], capture_output=True, text=True)
        assert sent.returncode == 0, sent.stderr
        output, _ = sweep_run.communicate(timeout=300)
    finally:
        sweep_run.kill()
    assert sweep_run.returncode == 0, output[-3000:]
    (job,) = job_dirs(sweep)
    log = "".join(p.read_text() for p in (sweep / ".submitit").glob(f"{job_id}*/*_log.*"))
    return job, job_id, log


def test_a_requeued_job_resumes_and_ends_bit_identical(slurm, tmp_path, uninterrupted):
    job, job_id, log = interrupt_once(tmp_path, ["scontrol", "requeue"])
    stopped = re.search(r"stopped by SIGTERM after step (\d+)", log)
    assert stopped, log[-3000:]  # SLURM's requeue stopped it mid-training, after a saved step ...
    assert int(stopped.group(1)) < 6 * 16
    assert "continuing from it" in log  # ... and the requeued job continued from that checkpoint
    assert "REQUEUED" in sacct_states(job_id)
    assert_same_run(job, uninterrupted)


def test_a_preempted_job_saves_is_requeued_by_submitit_and_ends_bit_identical(slurm, tmp_path, uninterrupted):
    # USR2 is what submitit asks SLURM to send `signal_delay_s` before a time-out or at pre-emption
    job, job_id, log = interrupt_once(tmp_path, ["scancel", "--signal=USR2"])
    assert re.search(r"stopped by SIGUSR2 after step \d+", log), log[-3000:]  # our checkpoint first ...
    assert (
        "handing SIGUSR2 to SignalHandler.checkpoint_and_try_requeue" in log and "Requeued job" in log
    )  # ... then submitit's requeue
    assert "continuing from it" in log
    assert "REQUEUED" in sacct_states(job_id)
    assert_same_run(job, uninterrupted)


def test_optuna_trials_run_as_parallel_slurm_jobs(slurm, tmp_path):
    result = run_module(
        "src.train",
        "hparams_search=optuna",
        *SLURM,
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.n_jobs=3",  # one batch of 3 trials, submitted together
        "+experiment=smoke",
        "optimized_metric=loss/d",
        f"paths.log_dir={tmp_path}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    assert len(job_dirs(sweep)) == 3
    assert len(list((sweep / ".submitit").glob("*_[0-9]"))) == 3  # one array of 3 SLURM jobs
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    finals = [scalars(job, "loss/d")[-1][1] for job in job_dirs(sweep)]
    assert best["best_value"] == pytest.approx(min(finals), rel=1e-6)


def test_ddp_with_two_slurm_tasks_ends_with_identical_weights(slurm, tmp_path):
    weights = tmp_path / "weights"
    result = run_module(
        "src.train",
        "-m",
        *SLURM,
        "+experiment=smoke",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",  # -> 2 SLURM tasks on the node, one rank each (Lightning's SLURM environment)
        "trainer.sync_batchnorm=false",
        "trainer.max_epochs=1",
        f"paths.log_dir={tmp_path}",
        f"+callbacks.rank_weights._target_=tests.helpers.{SaveRankWeights.__name__}",
        f"+callbacks.rank_weights.dirpath={weights}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    (job_id,) = slurm_job_ids(sweep)
    log = "".join(p.read_text() for p in (sweep / ".submitit").glob(f"{job_id}*/*_log.*"))
    assert "MEMBER: 1/2" in log and "MEMBER: 2/2" in log  # two ranks, registered through SLURM's variables
    start, rank0, rank1 = (
        torch.load(weights / n) for n in ("rank0_start.pt", "rank0_end.pt", "rank1_end.pt")
    )
    params = [k for k in rank0 if "running" not in k and "num_batches" not in k]
    assert params and all(torch.equal(rank0[k], rank1[k]) for k in params)
    assert all(not torch.equal(start[k], rank0[k]) for k in params)  # and they trained
    (job,) = job_dirs(sweep)
    # each rank took half of the 128 images per epoch: 4 steps of 16
    assert torch.load(job / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
