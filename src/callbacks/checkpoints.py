"""The run's checkpoints: `last.ckpt` (written often, atomically, at every stop, enough to resume
exactly), `best.ckpt` (the best score), and how every checkpoint file is written.

last.ckpt is written at every epoch end, every `every_n_steps` steps, at the end of training, when a
stop signal arrives (after the step in progress) and when the run fails outside a training step (a
failure inside a step leaves the previous one: the nets would be half updated). Every checkpoint goes
through AtomicCheckpointIO, so the previous file stays valid until the new one is complete.

Besides what Lightning stores (both nets, EMA, both optimizers, loop counters, the data module's
position), its state holds every random generator (torch CPU and CUDA, Python, NumPy) as they are
at the save; a resumed run puts them back just before its first step, so it continues bit-identically
on CPU (on GPU, up to non-deterministic kernels).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Checkpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from src.core import signals
from src.core.checks import non_negative, one_of, positive_int
from src.core.errors import GanlabError
from src.core.files import save_atomically
from src.metrics.registry import FID

log = logging.getLogger(__name__)


def rng_state() -> dict[str, Any]:
    """Every global random generator, as tensors, ints and tuples only: the checkpoint still loads
    with torch.load(weights_only=True)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(gauss)),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with `write_atomically` (src/core/files.py).

    Kept: Lightning's own save writes a temporary file in $TMPDIR and moves it, and across file
    systems the move is a copy, so a kill during it leaves a truncated `.ckpt` under its final name
    (tests/run/test_lightning_overrides.py)."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        save_atomically(checkpoint, Path(path))


class LastCheckpoint(Checkpoint):
    """Keeps `<dirpath>/last.ckpt` current and turns stop signals into a saved, non-zero exit.

    A `Checkpoint` callback, so Lightning adds no default ModelCheckpoint of its own beside it.
    `reseed`: after a rollback, the seed the run continues with (instead of the checkpoint's RNG).

    Kept instead of Lightning's own stop handling: Lightning answers SIGTERM alone (not SIGINT, USR1,
    USR2), exits 0 after it (a scheduler takes the run for finished) and, under DDP, broadcasts the
    flag with a host sync every step; its SLURM requeue saves `hpc_ckpt_N.ckpt` from inside the signal
    handler, mid-step (tests/run/test_lightning_overrides.py; ours: tests/run/test_faults.py and
    tests/test_slurm.py, where stopped runs resume bit-identical)."""

    def __init__(
        self,
        dirpath: str,
        every_n_steps: int = 500,
        filename: str = "last.ckpt",
        signal_sync_every_n_steps: int = 10,
        reseed: int | None = None,
    ):
        non_negative(every_n_steps, "callbacks.checkpoint.every_n_steps", zero_means="only at epoch ends")
        positive_int(signal_sync_every_n_steps, "callbacks.checkpoint.signal_sync_every_n_steps")
        self.dirpath, self.filename = Path(dirpath), filename
        self.every_n_steps = int(every_n_steps)
        self.signal_sync_every_n_steps = int(signal_sync_every_n_steps)
        self.saved_step: int | None = None
        self._in_step = False
        self._stopping = False  # a stop signal was seen and saved: stop at the next safe point
        self._training = False  # from the first step on: before it, a failure must not overwrite last.ckpt
        self._rng_to_restore: dict[str, Any] | None = None
        self.reseed = reseed
        self._ended_mid_epoch = False  # max_steps reached before the epoch's last batch

    @property
    def path(self) -> Path:
        return self.dirpath / self.filename

    # ----- state in the checkpoint -----

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._rng_to_restore = state_dict.get("rng")

    # ----- when to save -----

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        signals.install()  # a signal during the reference statistics is honoured too

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        signals.install()  # Lightning installs its own SIGTERM handler after setup: ours wins
        if self._rng_to_restore is not None:
            set_rng_state(self._rng_to_restore)  # the last thing before the first resumed step
            self._rng_to_restore = None
        if self.reseed is not None:
            L.seed_everything(self.reseed, verbose=False)
        self._training = True
        signals.raise_if_pending(lambda: f"before step {trainer.global_step}")

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        # a stop signal seen after the previous step: last.ckpt holds that step, and Lightning has
        # logged its metrics since (stopping at the step's end would lose them from the curves)
        if self._stopping:
            signals.raise_if_pending(lambda: f"after step {trainer.global_step}: {self.path} holds that step")
        self._in_step = True

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self._in_step = False
        step = trainer.global_step
        if self.every_n_steps and step % self.every_n_steps == 0:
            self.save(trainer)
        if 0 < trainer.max_steps <= step and not trainer.is_last_batch:
            # the run's last step, mid-epoch: saved now, while the loops still say "inside epoch N".
            # Lightning then ends the cut-short epoch (epoch-end hooks, epoch counted), and a
            # checkpoint written after that would make a resume with a larger budget skip the rest
            # of the epoch's batches.
            self.save(trainer)
            self._ended_mid_epoch = True
        if self._stop_signal(trainer, step) is not None:
            self.save(trainer)
            self._stopping = True  # stop before the next step, once this one is logged

    def _stop_signal(self, trainer: L.Trainer, step: int) -> int | None:
        """The pending stop signal. Under DDP the ranks agree on it every `signal_sync_every_n_steps`
        steps (one tiny all-reduce), so all of them save and stop after the same step; a rank that
        stopped alone would leave the others waiting in their next all-reduce."""
        if trainer.world_size <= 1:
            return signals.pending()
        if step % self.signal_sync_every_n_steps:
            return None
        flag = torch.tensor(signals.pending() or 0, device=trainer.strategy.root_device)
        agreed = int(trainer.strategy.reduce(flag, reduce_op="max")) or None  # the highest signal number
        if agreed is not None:
            signals.request(signals.pending() or agreed)
        return agreed

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._ended_mid_epoch:  # Lightning calls this for a cut-short epoch too
            self.save(trainer, again=True)  # the loops' epoch-end state, even if this step was saved

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._ended_mid_epoch:  # else last.ckpt of the last step is the one to continue from
            self.save(trainer, again=True)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if not self._training or self._in_step or getattr(exception, "keeps_last_checkpoint", False):
            # before training (a failed restore) there is nothing new; inside a step the nets may be
            # half updated; after a NaN they are not finite: each time the previous last.ckpt is the good one
            return
        try:
            self.save(trainer)
        except GanlabError as err:
            log.warning("could not save %s at the stop: %s", self.path, err)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._training = self._stopping = self._ended_mid_epoch = False
        signals.uninstall()

    def save(self, trainer: L.Trainer, again: bool = False) -> None:
        """Write last.ckpt for the current step (once per step, unless `again`)."""
        if not again and self.saved_step == trainer.global_step and self.path.is_file():
            return
        trainer.save_checkpoint(self.path, weights_only=False)  # everything: this is the one to resume
        self.saved_step = trainer.global_step


class BestCheckpoint(Checkpoint):
    """Keeps `<dirpath>/best.ckpt`: the model at its best score of `monitor` (e.g. metrics/fid).

    It looks for a new score at every epoch end and at the end of training, so any run that computed a
    score has a best.ckpt, the end-of-training FID included. The best value is saved in its state, so
    a resumed run only replaces best.ckpt with a better model."""

    def __init__(self, dirpath: str, monitor: str = FID, mode: str = "min", filename: str = "best.ckpt"):
        self.mode = one_of(mode, "callbacks.best_checkpoint.mode", ("min", "max"))
        self.dirpath, self.monitor, self.filename = Path(dirpath), monitor, filename
        self.best: float | None = None
        self.best_step: int | None = None

    @property
    def path(self) -> Path:
        return self.dirpath / self.filename

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_step": self.best_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best, self.best_step = state_dict.get("best"), state_dict.get("best_step")

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def _consider(self, trainer: L.Trainer) -> None:
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        value = float(value)  # a score logged at most once per epoch: no per-step sync
        if not np.isfinite(value) or not self._better(value) or self.best_step == trainer.global_step:
            return
        self.best, self.best_step = value, trainer.global_step
        trainer.save_checkpoint(self.path, weights_only=False)
        log.info("%s: %s=%.4g at step %d", self.path, self.monitor, value, trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._consider(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._consider(trainer)
