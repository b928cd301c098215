"""A long run survives kill -9, SIGTERM, a kill during a checkpoint write or an FID pass, a NaN and a
full disk, and a resumed run ends bit-identical to the uninterrupted one (CPU).

Each fault is real and injected from inside the real `python -m src.train` (tests/faults.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.core.files import TMP_PREFIX
from tests.helpers import PROJECT_ROOT, run_module

pytestmark = pytest.mark.slow

RUN = [  # 512 images / batch 16 = 32 steps an epoch, 3 epochs = 96 steps, last.ckpt every 10 steps
    "+experiment=smoke",
    "data.num_images=512",
    "trainer.max_epochs=3",
    "callbacks.checkpoint.every_n_steps=10",
    "trainer.enable_progress_bar=false",
]
STEPS = 96


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_module("src.train", *args, env=env)


def fault(name: str, key: str = "fault", **kwargs: object) -> list[str]:
    """Command-line overrides that add tests.faults.<name>(**kwargs) as a callback."""
    args = [f"+callbacks.{key}._target_=tests.faults.{name}"]
    return args + [f"+callbacks.{key}.{k}={v}" for k, v in kwargs.items()]


def ckpt(run: Path, name: str = "last.ckpt") -> dict:
    return torch.load(run / "checkpoints" / name, map_location="cpu", weights_only=False)


def curves(run: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in ("loss/d", "loss/g", "D(x)", "D(G(z))")}


def assert_same_run(reference: Path, resumed: Path) -> None:
    a, b = ckpt(reference), ckpt(resumed)
    assert a["global_step"] == b["global_step"] == STEPS
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"]):
        for state_a, state_b in zip(opt_a["state"].values(), opt_b["state"].values()):
            assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    expected, got = curves(reference), curves(resumed)
    for tag, points in got.items():
        steps = [s for s, _ in points]
        assert len(steps) == len(set(steps)), f"{tag}: a step is on the curve twice"
        assert points == expected[tag], tag  # every logged value, bit for bit
    assert not list((resumed / "checkpoints").glob(f"{TMP_PREFIX}*")), "a temp file was left"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    result = cli(*RUN, f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    return run


def test_kill_9_mid_epoch_then_resume_ends_bit_identical(reference, tmp_path):
    run = tmp_path / "run"
    killed = cli(*RUN, *fault("SignalAtStep", step=45, signum=int(signal.SIGKILL)), f"hydra.run.dir={run}")
    assert killed.returncode == -signal.SIGKILL
    state = ckpt(run)
    assert state["global_step"] == 40
    assert state["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 8}]
    resumed = cli(f"resume={run}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_run(reference, run)


def test_sigterm_saves_that_step_exits_143_and_resumes_bit_identical(reference, tmp_path):
    run = tmp_path / "run"
    stopped = cli(*RUN, *fault("SignalAtStep", step=45, signum=int(signal.SIGTERM)), f"hydra.run.dir={run}")
    assert stopped.returncode == 128 + signal.SIGTERM
    assert stopped.stderr.strip().splitlines()[-1].startswith("error: stopped by SIGTERM after step 45")
    assert ckpt(run)["global_step"] == 45
    resumed = cli(f"resume={run}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_run(reference, run)


def test_kill_during_a_checkpoint_write_keeps_the_previous_one(reference, tmp_path):
    run = tmp_path / "run"
    killed = cli(*RUN, *fault("KillInCheckpointWrite", step=41), f"hydra.run.dir={run}")
    assert killed.returncode == -signal.SIGKILL
    assert ckpt(run)["global_step"] == 40  # the write at step 50 died before its rename
    assert len(list((run / "checkpoints").glob(f"{TMP_PREFIX}last.ckpt-*"))) == 1  # what the kill left
    resumed = cli(f"resume={run}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same_run(reference, run)  # ... and the resumed run removed it


FID = [
    "callbacks=default",
    "callbacks.fid.enabled=true",
    "callbacks.fid.every_n_epochs=1",
    "callbacks.fid.n_samples=32",
    "callbacks.fid.n_real=64",
    "callbacks.fid.batch_size=16",
    "callbacks.fid.kid.subsets=2",
    "callbacks.fid.kid.subset_size=8",
    "callbacks.periodic_checkpoint.every_n_epochs=1",
]


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_stop_during_the_fid_pass_loses_nothing(reference, tmp_path, signum):
    run = tmp_path / "run"
    # call 1: the cost line's timing probe; 2-5: the 64 reference images; 6-7: the FID pass of epoch 0,
    # signalled at its first batch
    network = fault("SignalDuringFeatures", key="fid.network", at_call=6, signum=int(signum))
    env = {"GANLAB_CACHE_DIR": str(tmp_path / "cache")}
    stopped = cli(*RUN, *FID, *network, f"hydra.run.dir={run}", env=env)
    if signum == signal.SIGTERM:  # honoured between two batches of the pass, with a checkpoint
        assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr[-2000:]
        assert "during the feature pass over generated images" in stopped.stderr.strip().splitlines()[-1]
        assert ckpt(run)["global_step"] == 32
    else:
        assert stopped.returncode == -signal.SIGKILL
        assert ckpt(run)["global_step"] == 30  # the last 10-step save before the epoch's end
    resumed = cli(f"resume={run}", env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = ckpt(reference), ckpt(run)  # FID draws no global random numbers: the same weights
    assert all(torch.equal(v, b["state_dict"][k]) for k, v in a["state_dict"].items())
    fid = EventAccumulator(str(run))
    fid.Reload()
    assert [e.step for e in fid.Scalars("metrics/fid")][-2:] == [63, 95]


def test_nan_stops_with_one_line_and_no_checkpoint_holds_it(tmp_path):
    run = tmp_path / "run"
    result = cli(*RUN, *fault("NaNAtStep", step=45), f"hydra.run.dir={run}")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: step 45: non-finite loss/d=") and "loss/g=nan" in lines[-1]
    assert lines[-1].endswith(f"the last good checkpoint is {run / 'checkpoints' / 'last.ckpt'}")
    assert ckpt(run)["global_step"] == 40
    for path in (run / "checkpoints").glob("*.ckpt"):
        state = torch.load(path, map_location="cpu", weights_only=False)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()), path


def test_rollback_goes_back_to_the_last_good_checkpoint_with_another_seed(tmp_path):
    run = tmp_path / "run"
    result = cli(*RUN, *fault("NaNAtStep", step=45), "guard.on_nonfinite=rollback", f"hydra.run.dir={run}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rollback 1, from" in result.stdout  # Hydra's log goes to stdout
    state = ckpt(run)
    assert state["global_step"] == STEPS
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a tmpfs needs root")
def test_full_disk_is_one_line_and_the_previous_checkpoint_stays_valid(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        run = disk / "run"  # a checkpoint is ~0.5 MB: the second or third one does not fit
        result = cli(*RUN, "callbacks.periodic_checkpoint=null", f"hydra.run.dir={run}")
        assert result.returncode == 2
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("error: the disk holding") and "is full" in last
        state = ckpt(run)  # readable, and a step where a save was due
        assert state["global_step"] % 10 == 0 or state["global_step"] % 32 == 0
        assert not list((run / "checkpoints").glob(f"{TMP_PREFIX}*"))
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_truncated_checkpoint_is_one_line_and_another_one_resumes(reference, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    result = cli(f"resume={run}", "trainer.max_epochs=4")
    assert result.returncode == 2
    (line,) = [x for x in result.stderr.strip().splitlines() if x.startswith("error:")]
    assert "is not a readable checkpoint" in line and "truncated" in line
    ok = cli(f"resume={run / 'checkpoints' / 'epoch0002-step0000096.ckpt'}", "trainer.max_epochs=4")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ckpt(run)["global_step"] == STEPS + 32


def test_two_runs_started_together_get_two_folders(tmp_path):
    args = [sys.executable, "-m", "src.train", *RUN[:1], "trainer.max_epochs=1", f"paths.log_dir={tmp_path}"]
    procs = [
        subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    folders = sorted((tmp_path / "runs").iterdir())
    assert len(folders) == 2
    assert all((f / "checkpoints" / "last.ckpt").is_file() for f in folders)


def test_a_run_ended_by_max_steps_mid_epoch_continues_exactly_with_a_larger_budget(reference, tmp_path):
    """max_steps=45 stops inside epoch 1 (32 steps an epoch); Lightning then ends that epoch early. The
    last.ckpt to continue from is the one of step 45, still inside the epoch, so `resume=` with a
    larger budget trains the rest of epoch 1 rather than skipping to epoch 2."""
    run = tmp_path / "run"
    first = cli(*RUN, "trainer.max_steps=45", f"hydra.run.dir={run}")
    assert first.returncode == 0, first.stderr[-2000:]
    state = ckpt(run)
    assert state["global_step"] == 45
    assert state["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"epoch": 1, "batches_done": 13}]
    resumed = cli(f"resume={run}", "trainer.max_steps=-1")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = ckpt(reference), ckpt(run)
    assert a["global_step"] == b["global_step"] == STEPS
    assert all(torch.equal(v, b["state_dict"][k]) for k, v in a["state_dict"].items())
    expected, got = curves(reference), curves(run)
    for tag, points in got.items():  # the same values; the first run's last step (44) is one more point
        assert [p for p in points if p[0] != 44] == expected[tag], tag


def test_a_failed_resume_leaves_the_runs_config_as_it_was(reference, tmp_path):
    """Hydra rewrites `.hydra/` of the run folder when a resumed attempt starts; an attempt refused
    before training (here: another latent size) must not leave its overrides as the run's own, or every
    later `resume=` (and src.report's row) would carry them."""
    run = tmp_path / "run"
    shutil.copytree(reference, run)
    saved = {name: (run / ".hydra" / name).read_text() for name in ("overrides.yaml", "config.yaml")}
    bad = cli(f"resume={run}", "trainer.max_epochs=4", "model.latent_dim=8")
    assert bad.returncode == 2
    assert "use model.latent_dim=16 (as it was trained)" in bad.stderr.strip().splitlines()[-1]
    assert {name: (run / ".hydra" / name).read_text() for name in saved} == saved
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".hydra")) == [".hydra"]
    ok = cli(f"resume={run}", "trainer.max_epochs=4")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert ckpt(run)["global_step"] == STEPS + 32
    assert "trainer.max_epochs=4" in (run / ".hydra" / "overrides.yaml").read_text()  # a resume that trained
