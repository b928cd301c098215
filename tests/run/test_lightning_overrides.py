"""Lightning's own behaviour at each place where ganlab overrides it, shown wrong for this product.

One test per override that is kept (the code at each place names its test); if Lightning ever
changes, the test fails and the override can go:

- D steps through the strategy, not LightningOptimizer (src/gan/module.py): every step is counted;
- extra logging points (src/generative/log_points.py): a short run logs nothing;
- the budget check of a resumed run (src/run/resume.py): a finished run "continues" by doing nothing;
- stop signals (src/callbacks/checkpoints.py: LastCheckpoint): SIGTERM ends the run with exit status 0;
- atomic checkpoint files (AtomicCheckpointIO): a kill during the save truncates the checkpoint;
- the data's position in the epoch (src/data/base.py: ShuffledBatches): an interrupted epoch restarts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import Logger
from torch.utils.data import DataLoader, TensorDataset

from tests.helpers import PROJECT_ROOT

QUIET = {
    "logger": False,
    "enable_checkpointing": False,
    "enable_progress_bar": False,
    "enable_model_summary": False,
    "accelerator": "cpu",
}


class Linear(L.LightningModule):
    """A one-weight regression: the smallest module Lightning trains (automatic optimization)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(1, 1)
        self.seen: list[list[float]] = []

    def training_step(self, batch, batch_idx):
        (x,) = batch
        self.seen.append(x.flatten().tolist())
        loss = self.net(x).square().mean()
        self.log("loss", loss, on_step=True, on_epoch=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def loader(n: int = 64, batch: int = 8) -> DataLoader:
    return DataLoader(TensorDataset(torch.arange(n, dtype=torch.float32).view(n, 1)), batch_size=batch)


def test_lightnings_optimizer_step_counts_every_d_step_in_global_step(tmp_path):
    class TwoSteps(Linear):
        def __init__(self) -> None:
            super().__init__()
            self.automatic_optimization = False
            self.other = torch.nn.Linear(1, 1)

        def training_step(self, batch, batch_idx):
            self.seen.append(batch_idx)
            for opt, net in zip(self.optimizers(), (self.other, self.net)):  # "D", then "G"
                opt.zero_grad()
                self.manual_backward(net(batch[0]).square().mean())
                opt.step()

        def configure_optimizers(self):
            return [torch.optim.SGD(m.parameters(), lr=0.01) for m in (self.other, self.net)]

    model, trainer = TwoSteps(), L.Trainer(max_steps=6, default_root_dir=tmp_path, **QUIET)
    trainer.fit(model, loader())
    assert trainer.global_step == 6 and len(model.seen) == 3  # max_steps=6 meant 3 batches


def test_lightning_writes_no_step_metrics_in_a_run_shorter_than_its_logging_interval(tmp_path):
    class Recorder(Logger):
        name, version = "recorder", 0
        written: list[dict] = []

        def log_metrics(self, metrics, step=None):
            self.written.append(metrics)

        def log_hyperparams(self, params, *args, **kwargs):
            pass

    recorder = Recorder()
    options = {**QUIET, "logger": recorder, "default_root_dir": tmp_path}
    trainer = L.Trainer(max_steps=8, log_every_n_steps=50, **options)
    trainer.fit(Linear(), loader())
    assert not [m for m in recorder.written if "loss" in m]  # 8 steps, no point on the curve


def test_lightning_resumes_a_finished_run_by_training_nothing(tmp_path):
    trainer = L.Trainer(max_epochs=1, default_root_dir=tmp_path, **QUIET)
    trainer.fit(Linear(), loader())
    trainer.save_checkpoint(tmp_path / "done.ckpt")
    again = L.Trainer(max_epochs=1, default_root_dir=tmp_path, **QUIET)
    model = Linear()
    again.fit(model, loader(), ckpt_path=tmp_path / "done.ckpt")  # no error, no warning to the user
    assert model.seen == [] and again.global_step == 8


def test_lightning_restarts_an_interrupted_epoch_from_its_first_batch(tmp_path):
    class SaveAtStep3(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 3:
                trainer.save_checkpoint(tmp_path / "mid.ckpt")

    first = Linear()
    L.Trainer(max_epochs=1, callbacks=[SaveAtStep3()], default_root_dir=tmp_path, **QUIET).fit(
        first, loader()
    )
    resumed = Linear()
    trainer = L.Trainer(max_epochs=1, default_root_dir=tmp_path, **QUIET)
    trainer.fit(resumed, loader(), ckpt_path=tmp_path / "mid.ckpt")
    assert resumed.seen[0] == first.seen[0] != first.seen[3]  # batch 0 again, not batch 3


LIGHTNING_SIGTERM = """
import os, signal, sys, lightning as L, torch
from tests.run.test_lightning_overrides import Linear, loader, QUIET
class Term(L.Callback):
    def on_train_batch_end(self, trainer, *args):
        if trainer.global_step == 2:
            os.kill(os.getpid(), signal.SIGTERM)
L.Trainer(max_epochs=1, callbacks=[Term()], default_root_dir=sys.argv[1], **QUIET).fit(Linear(), loader())
"""


@pytest.mark.slow
def test_lightnings_own_sigterm_ends_the_run_with_exit_status_0(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", LIGHTNING_SIGTERM, str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]  # a scheduler takes the stopped run for finished
    assert "Received SIGTERM" in result.stderr


KILL_DURING_LIGHTNINGS_SAVE = """
import os, shutil, signal, sys, torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
path = sys.argv[1]
TorchCheckpointIO().save_checkpoint({"weights": torch.zeros(1000)}, path)  # the previous checkpoint
def copy_half_then_die(src, dst, *args, **kwargs):
    data = open(src, "rb").read()
    with open(dst, "wb") as f:
        f.write(data[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)
shutil.copyfile = copy_half_then_die  # killed while $TMPDIR's temp file is copied across file systems
TorchCheckpointIO().save_checkpoint({"weights": torch.ones(1000)}, path)
"""


@pytest.mark.slow
def test_lightnings_own_save_killed_mid_copy_leaves_a_truncated_checkpoint(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs $TMPDIR on another file system than the checkpoint (/dev/shm)")
    path = tmp_path / "last.ckpt"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL_DURING_LIGHTNINGS_SAVE), str(path)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "TMPDIR": str(shm)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    with pytest.raises(RuntimeError):  # the previous checkpoint is gone, the new one half written
        torch.load(path, weights_only=True)
