"""Exponential moving average of a net's weights (G in a GAN, the U-Net in DDPM).

The GAN's half-life is counted in images (Karras et al.); DDPM uses a plain per-step decay (0.9999).

A per-step decay ties the average to the batch size: at decay 0.999 a batch of 128 averages over
twice as many images as a batch of 64, so `+experiment=batch_128` would change two things. As in
stylegan2-ada, the half-life is a number of images (`ema_kimg` thousands) and each step's decay is
0.5 ** (batch images / half-life). The ramp-up caps the half-life at `ema_rampup` times the images
seen so far, so the average forgets the random early weights quickly and settles later.
"""

from __future__ import annotations

import torch
from torch import nn

from src.utils.checks import non_negative, positive

IMAGES_PER_KIMG = 1000


def check_ema(ema_kimg: float | None, ema_rampup: float | None) -> None:
    if ema_kimg is not None:
        positive(ema_kimg, "model.ema_kimg")
    if ema_rampup is not None:
        non_negative(ema_rampup, "model.ema_rampup", zero_means="no ramp-up")


def ema_decay(images_seen: int, batch_images: int, ema_kimg: float, ema_rampup: float | None) -> float:
    """The decay of one step of `batch_images` images after `images_seen` images (host floats only)."""
    half_life = ema_kimg * IMAGES_PER_KIMG
    if ema_rampup:
        half_life = min(half_life, images_seen * ema_rampup)
    if half_life <= 0:
        return 0.0  # the first step: a plain copy
    return 0.5 ** (batch_images / half_life)


@torch.no_grad()
def update_ema_(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """ema <- ema + (1 - decay) (net - ema) for weights; buffers (BatchNorm statistics) copied."""
    torch._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 1.0 - decay)
    buffers = list(ema.buffers())
    if buffers:  # an MLP generator has none
        torch._foreach_copy_(buffers, list(net.buffers()))
