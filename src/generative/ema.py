"""Exponential moving average of a net's weights (G in a GAN, the U-Net in DDPM): smoother samples.

The GAN's half-life is counted in images (Karras et al.): a per-step decay ties the average to the
batch size (at 0.999 a batch of 128 averages over twice the images of a batch of 64, so
`+experiment=batch_128` would change two things). As in stylegan2-ada, the half-life is `kimg`
thousand images and each step's decay is 0.5 ** (batch images / half-life); the ramp-up caps the
half-life at `rampup` times the images seen so far, so the random early weights are forgotten fast.
DDPM uses the paper's plain per-step decay (0.9999), optionally warmed up as (1 + t) / (10 + t).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import get_ema_multi_avg_fn

from src.core.checks import boolean, in_range, non_negative, positive, whole

IMAGES_PER_KIMG = 1000
WARMUP_OFFSET = 10  # with warm-up, the per-step decay is min(decay, (1 + step) / (10 + step))


def check_ema(ema: Mapping[str, Any] | None, name: str = "model.ema") -> Mapping[str, Any] | None:
    """The EMA settings (null: no EMA), each value checked by its own rule."""
    if ema is None:
        return None
    if "kimg" in ema:
        positive(ema["kimg"], f"{name}.kimg")
    if ema.get("rampup") is not None:
        non_negative(ema["rampup"], f"{name}.rampup", zero_means="no ramp-up")
    if "decay" in ema:
        in_range(ema["decay"], f"{name}.decay", 0.0, 1.0)
    if "warmup" in ema:
        boolean(ema["warmup"], f"{name}.warmup")
    if "norm_samples" in ema:
        whole(ema["norm_samples"], f"{name}.norm_samples", low=0, note=" (0: BatchNorm statistics copied)")
    return ema


def image_decay(images_seen: int, batch_images: int, kimg: float, rampup: float | None) -> float:
    """The decay of one step of `batch_images` images after `images_seen` images (host floats only)."""
    half_life = kimg * IMAGES_PER_KIMG
    if rampup:
        half_life = min(half_life, images_seen * rampup)
    if half_life <= 0:
        return 0.0  # the first step: a plain copy
    return 0.5 ** (batch_images / half_life)


def step_decay(decay: float, step: int, warmup: bool) -> float:
    """DDPM's per-step decay after `step` steps; the warm-up gives short runs a usable average."""
    return min(decay, (1 + step) / (WARMUP_OFFSET + step)) if warmup else decay


@torch.no_grad()
def measure_norms_(net: nn.Module, forward: Callable[[int, int], object], n: int, batch: int) -> None:
    """Give `net`'s BatchNorm layers statistics of its own activations: `forward(start, count)` runs it
    on inputs start .. start + count - 1, `n` in all, in train mode with a cumulative average (SWA's
    update_bn, for a net that takes codes and labels). The statistics an EMA copies from the raw net
    describe another net's activations: early in a run, when the average lags the raw net, they turn its
    samples grey."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta, was_training = [m.momentum for m in norms], net.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        if isinstance(m, nn.SyncBatchNorm):  # measured by this process alone: no collective
            m.forward = partial(nn.modules.batchnorm._BatchNorm.forward, m)
    net.train()
    for start in range(0, n, batch):
        forward(start, min(batch, n - start))
    net.train(was_training)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
        m.__dict__.pop("forward", None)


@torch.no_grad()
def update_ema_(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """ema <- ema + (1 - decay) (net - ema) for weights; buffers (BatchNorm statistics) copied."""
    get_ema_multi_avg_fn(decay)(list(ema.parameters()), list(net.parameters()), None)
    for average, current in zip(ema.buffers(), net.buffers()):
        average.copy_(current)
