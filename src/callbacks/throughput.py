"""Training speed in real images per second, measured without per-step device syncs.

Lightning's ThroughputMonitor synchronises CUDA after every batch; this meter synchronises only
when it reports (every `log_every_n_steps` batches and at epoch end), so it does not slow the loop
it measures.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L

from src.utils.runtime import sync_device

log = logging.getLogger(__name__)


class ImagesPerSecond(L.Callback):
    """Logs `perf/images_per_sec` (real images through full D+G steps, all ranks) and the epoch's rate."""

    def __init__(self) -> None:
        self.epoch_images = self.window_images = 0
        self.epoch_start = self.window_start = 0.0
        self.last_epoch_rate: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.on_train_epoch_start(trainer, pl_module)  # a run resumed mid-epoch starts no new epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        sync_device(pl_module.device)
        self.epoch_start = self.window_start = time.perf_counter()
        self.epoch_images = self.window_images = 0

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        images = batch[0].shape[0] * trainer.world_size
        self.epoch_images += images
        self.window_images += images
        every = trainer.log_every_n_steps
        if every > 0 and trainer.global_step % every == 0:
            sync_device(pl_module.device)
            now = time.perf_counter()
            pl_module.log("perf/images_per_sec", self.window_images / (now - self.window_start), on_step=True)
            self.window_start, self.window_images = now, 0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        sync_device(pl_module.device)
        seconds = time.perf_counter() - self.epoch_start
        if self.epoch_images and seconds > 0:
            self.last_epoch_rate = self.epoch_images / seconds
            log.info(
                "epoch %d: %d images in %.1f s = %.1f images/s",
                trainer.current_epoch,
                self.epoch_images,
                seconds,
                self.last_epoch_rate,
            )
            pl_module.log("perf/epoch_images_per_sec", self.last_epoch_rate, on_epoch=True, on_step=False)


class StepWindow(L.Callback):
    """Wall time of the batches `start_step` .. `end_step - 1` (global batch indices, across epochs),
    with a device sync at those two points only; subclasses add what runs inside the window
    (`enter`/`leave`), e.g. the benchmark's profiler."""

    def __init__(self, start_step: int, end_step: int):
        self.start_step, self.end_step = start_step, end_step
        self.started: float | None = None
        self.seconds: float | None = None

    def enter(self, pl_module: L.LightningModule) -> None:
        """Called right after the clock starts."""

    def leave(self, pl_module: L.LightningModule) -> None:
        """Called right after the clock stops."""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.start_step and self.started is None:
            sync_device(pl_module.device)
            self.started = time.perf_counter()
            self.enter(pl_module)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # global_step counts finished batches: it is end_step right after batch end_step - 1
        if trainer.global_step == self.end_step and self.started is not None and self.seconds is None:
            sync_device(pl_module.device)
            self.seconds = time.perf_counter() - self.started
            self.leave(pl_module)
