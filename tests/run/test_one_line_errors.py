"""Every failure a user can cause is one line and exit 2, before any run folder exists, whoever raises
it: ganlab, Hydra (unknown names and keys, with a "did you mean"), Lightning (devices, strategies,
precisions), Optuna (its search space), the OS (folders it refuses), or a checkpoint of another kind.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import PROJECT_ROOT, run_module
from tests.run.test_nothing_lost import SMOKE, one_line

pytestmark = pytest.mark.slow

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="checks what a machine without a GPU refuses")


@pytest.mark.parametrize(
    "args,expected",
    [
        (["+trainer.foo=1"], "trainer.foo=1 is not a Trainer setting"),
        (["+data.foo=1"], "data.foo=1 is not a SyntheticDataModule setting"),
        (
            ["+logger.flush_sec=3"],
            "logger.flush_sec=3 is not a TensorBoardLogger setting (did you mean flush_secs?)",
        ),
        (["+callbacks.samples.gird_size=4"], "is not a SampleGrid setting (did you mean grid_size?)"),
        (
            ["model.optimizer.betas=0.5"],
            "model.optimizer.betas=0.5 is not allowed: use two numbers in [0, 1)",
        ),
        (["trainer.devices=0"], "trainer.devices=0 is not allowed"),
        (["trainer.devices=99"], "trainer.devices=99 is not allowed"),
        (["trainer.devices=2"], "starts several processes: use trainer=ddp"),
        (["trainer.strategy=dpp"], "trainer: You selected an invalid strategy name: `strategy='dpp'`"),
        (
            ["trainer.accelerator=gpux"],
            "trainer: You selected an invalid accelerator name: `accelerator='gpux'`",
        ),
        (
            ["model=dcgam"],
            "model=dcgam is unknown (did you mean model=dcgan?): use one of biggan, cdcgan, dcgan",
        ),
        (["+experiment=lr_halve"], "experiment=lr_halve is unknown (did you mean experiment=lr_half?)"),
        (
            ["trainer.max_epoch=3"],
            "trainer.max_epoch is not a setting of trainer (did you mean trainer.max_epochs?)",
        ),
        (["max_epochs=3"], "max_epochs is not a setting (did you mean trainer.max_epochs?)"),
        (["+modle=dcgan"], "modle='dcgan' is not a setting of this command (did you mean model?)"),
        (["model.latent_dim"], "Error parsing override 'model.latent_dim'"),
        (
            ["model.optimizer._target_=torch.optim.Adamx"],
            "model.optimizer._target_='torch.optim.Adamx' is not allowed",
        ),
        (["optimized_metric=metrics/fid"], "optimized_metric=metrics/fid is not computed by this run"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_folder(tmp_path, args, expected):
    result = run_module("src.train", *SMOKE, f"paths.log_dir={tmp_path / 'out'}", *args)
    line = one_line(result)
    assert expected in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["trainer=ddp"],
            "trainer.accelerator=gpu needs a CUDA GPU and this machine has none: use trainer.accelerator=cpu "
            "trainer.sync_batchnorm=false",
        ),
        (["trainer.accelerator=cuda"], "trainer.accelerator=cuda needs a CUDA GPU"),
        (["trainer.precision=16-mixed"], "trainer.precision=16-mixed needs a CUDA GPU"),
    ],
)
@NO_GPU
def test_what_needs_a_gpu_is_refused_on_a_cpu(tmp_path, args, expected):
    result = run_module("src.train", *SMOKE, f"paths.log_dir={tmp_path / 'out'}", *args)
    assert expected in one_line(result)
    assert not (tmp_path / "out").exists()


def test_folders_the_os_refuses_are_one_line(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    result = run_module("src.train", *SMOKE, f"hydra.run.dir={a_file / 'run'}")
    assert f"cannot use {a_file / 'run'}" in one_line(result)
    assert a_file.read_text() == "mine"


@pytest.mark.skipif(not shutil.which("mount"), reason="needs mount (root) for a read-only file system")
def test_a_read_only_output_folder_is_one_line(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)]).returncode:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        result = run_module("src.train", *SMOKE, f"paths.log_dir={ro}")
        assert f"cannot use {ro / 'runs'}: the file system is read-only (check the folder given)" in one_line(
            result
        )
    finally:
        subprocess.run(["umount", str(ro)], check=False)


def test_ctrl_c_during_the_imports_is_one_line(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "src.train", *SMOKE, f"paths.log_dir={tmp_path}"],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)  # well before lightning and hydra are imported
    proc.send_signal(signal.SIGINT)
    stderr = proc.communicate(timeout=60)[1]
    line = one_line((proc.returncode, stderr), 128 + signal.SIGINT)
    assert line == "error: stopped by SIGINT during start-up: nothing was written"
    assert not list(tmp_path.iterdir())


# --- a checkpoint of another kind says what it is and which command takes it


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A DDPM run and a classifier run (their last.ckpt), at smoke size."""
    root = tmp_path_factory.mktemp("kinds")
    ddpm = run_module("src.train", "+experiment=ddpm_smoke", f"hydra.run.dir={root / 'ddpm'}")
    assert ddpm.returncode == 0, ddpm.stderr[-2000:]
    classifier = run_module(
        "src.train_classifier",
        "data=synthetic",
        "trainer=cpu",
        "trainer.max_epochs=1",
        "~test_data.split",
        "+test_data.seed=1",
        f"hydra.run.dir={root / 'classifier'}",
    )
    assert classifier.returncode == 0, classifier.stderr[-2000:]
    return {name: root / name / "checkpoints" / "last.ckpt" for name in ("ddpm", "classifier")}


def test_a_ddpm_checkpoint_in_a_gan_run_is_one_line(runs, tmp_path):
    result = run_module("src.train", *SMOKE, f"ckpt_path={runs['ddpm']}", f"paths.log_dir={tmp_path}")
    line = one_line(result)
    assert f"ckpt_path='{runs['ddpm']}' is a DDPM checkpoint, not a GAN one" in line
    assert "src.generate or src.evaluate" in line and "resume=<its run folder>" in line


@pytest.mark.parametrize("command", ["src.generate", "src.evaluate"])
def test_a_classifier_checkpoint_given_to_generate_or_evaluate_is_one_line(runs, command):
    result = run_module(command, f"ckpt_path={runs['classifier']}")
    line = one_line(result)
    assert "is a Classifier checkpoint, not a generative model's (GAN or DDPM) one" in line
    assert "callbacks.classifier_metrics.ckpt_path" in line
    assert not (runs["classifier"].parent.parent / command.split(".")[1]).exists()


def test_a_gan_checkpoint_as_the_classifier_metrics_one_is_one_line(fid_run, tmp_path):
    key = "callbacks.classifier_metrics.ckpt_path"
    result = run_module("src.train", *SMOKE, f"{key}={fid_run.last_ckpt}", f"paths.log_dir={tmp_path}")
    assert f"{key}='{fid_run.last_ckpt}' is a GAN checkpoint, not a Classifier one" in one_line(result)


# --- Optuna's search space, checked before any trial


@pytest.mark.parametrize(
    "args,expected",
    [
        (["model.lr_g=tag(log, interval(1e-3, 1e-5))"], "model.lr_g=interval(0.001, 1e-05) is reversed"),
        (["hydra.sweeper.params=null"], "the Optuna search space is empty"),
    ],
)
def test_a_bad_optuna_search_space_is_one_line_before_any_trial(tmp_path, args, expected):
    result = run_module(
        "src.train",
        "hparams_search=optuna",
        *SMOKE,
        "optimized_metric=loss/g",
        f"paths.log_dir={tmp_path}",
        *args,
    )
    assert expected in one_line(result)
    assert not list(tmp_path.glob("multirun/*/*_*"))  # no trial started


def test_an_empty_sweep_is_one_line(tmp_path):
    result = run_module("src.train", "-m", *SMOKE, "model.latent_dim=range(5,1)", f"paths.log_dir={tmp_path}")
    assert "this sweep has no jobs" in one_line(result)
