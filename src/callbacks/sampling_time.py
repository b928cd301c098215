"""Seconds per generated image at the end of training, for each sampler a model offers.

A GAN makes an image in one forward pass (`perf/sample_s_per_image`); a diffusion model offers
`timed_samplers` (DDIM 50 steps, ancestral T steps), each logged as `perf/sample_s_per_image_<name>`
(e.g. `_ddim50`, `_ddpm1000`), so `src.report` puts both kinds side by side. The clock runs around
`sample` after one warm-up call (of the first sampler), with a device sync at each end.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L

from src.utils.checks import positive_int
from src.utils.runtime import sync_device

log = logging.getLogger(__name__)


def seconds_per_image(
    pl_module: L.LightningModule, n_images: int, seed: int = 0, warm_up: bool = True, **options: Any
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

    def measure(self, pl_module: L.LightningModule) -> dict[str, float]:
        variants = getattr(pl_module, "timed_samplers", None) or {"": {}}
        results = {}
        for i, (name, options) in enumerate(variants.items()):
            key = f"perf/sample_s_per_image{'_' + name if name else ''}"
            # one warm-up, with the first (cheapest) sampler: the same net runs in all of them
            results[key] = seconds_per_image(pl_module, self.n_images, self.seed, warm_up=i == 0, **options)
        return results

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        self.results = self.measure(pl_module)
        log.info("sampling time per image: %s", {k: round(v, 5) for k, v in self.results.items()})
        for logger in trainer.loggers:
            logger.log_metrics(self.results, step=trainer.global_step)
            logger.save()
