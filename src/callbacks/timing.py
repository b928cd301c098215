"""Speed of a run, measured without per-step device syncs: training images per second, and seconds per
generated image at the end of training for each sampler a model offers.

Lightning's ThroughputMonitor synchronises CUDA after every batch; ImagesPerSecond synchronises only
when it reports (every `log_every_n_steps` batches and at epoch end), so it does not slow the loop it
measures. SamplingTime: a GAN makes an image in one forward pass (`perf/sample_s_per_image`); a
diffusion model offers `timed_samplers` (DDIM 50 steps, ancestral T steps), each logged as
`perf/sample_s_per_image_<name>` (e.g. `_ddim50`, `_ddpm1000`), so `src.report` puts both side by side.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L

from src.core.checks import positive_int
from src.core.device import sync_device
from src.generative.module import GenerativeModule

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
                trainer.current_epoch + 1,  # counted from 1, as the progress bar
                self.epoch_images,
                seconds,
                self.last_epoch_rate,
            )
            pl_module.log("perf/epoch_images_per_sec", self.last_epoch_rate, on_epoch=True, on_step=False)


def seconds_per_image(
    pl_module: GenerativeModule, n_images: int, seed: int = 0, warm_up: bool = True, **options: Any
) -> float:
    if warm_up:  # lazy allocations, cuDNN's algorithm choice
        pl_module.sample(1, seed, **options)
    sync_device(pl_module.device)
    started = time.perf_counter()
    pl_module.sample(n_images, seed, **options)
    sync_device(pl_module.device)
    return (time.perf_counter() - started) / n_images


class SamplingTime(L.Callback):
    """Logs the sampling time per image (a batch of `n_images`) at the end of training, rank 0."""

    def __init__(self, n_images: int = 64, seed: int = 0):
        positive_int(n_images, "callbacks.sampling_time.n_images")
        self.n_images, self.seed = n_images, seed
        self.results: dict[str, float] = {}

    def measure(self, pl_module: GenerativeModule) -> dict[str, float]:
        results = {}
        for i, (name, options) in enumerate(pl_module.timed_samplers.items()):
            key = f"perf/sample_s_per_image{'_' + name if name else ''}"
            # one warm-up, with the first (cheapest) sampler: the same net runs in all of them
            results[key] = seconds_per_image(pl_module, self.n_images, self.seed, warm_up=i == 0, **options)
        return results

    def on_train_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        if not trainer.is_global_zero:
            return
        self.results = self.measure(pl_module)
        log.info("sampling time per image: %s", {k: round(v, 5) for k, v in self.results.items()})
        for logger in trainer.loggers:
            logger.log_metrics(self.results, step=trainer.global_step)
            logger.save()
