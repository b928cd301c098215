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
import torch

log = logging.getLogger(__name__)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class ImagesPerSecond(L.Callback):
    """Logs `perf/images_per_sec` (real images through full D+G steps, all ranks) and the epoch's rate."""

    def __init__(self) -> None:
        self.epoch_images = self.window_images = 0
        self.epoch_start = self.window_start = 0.0
        self.last_epoch_rate: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module.device)
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
            _sync(pl_module.device)
            now = time.perf_counter()
            pl_module.log("perf/images_per_sec", self.window_images / (now - self.window_start), on_step=True)
            self.window_start, self.window_images = now, 0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        _sync(pl_module.device)
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
