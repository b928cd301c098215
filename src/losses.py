"""GAN losses as pure functions of discriminator logits: (d_loss(real, fake), g_loss(fake)).

Each D loss pushes real logits one way and fake logits the other; each G loss is the generator's
side of the same game. All take raw logits (no sigmoid) so mixed precision stays stable.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def bce_d(real: Tensor, fake: Tensor) -> Tensor:
    """Standard GAN discriminator: real labelled 1, fake labelled 0 (binary cross-entropy)."""
    return F.binary_cross_entropy_with_logits(
        real, torch.ones_like(real)
    ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))


def bce_g(fake: Tensor) -> Tensor:
    """Non-saturating generator loss: fakes labelled real, -log D(G(z))."""
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def lsgan_d(real: Tensor, fake: Tensor) -> Tensor:
    """Least squares GAN (Mao et al.): targets 1 for real, 0 for fake."""
    return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()


def lsgan_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1.0) ** 2).mean()


LossPair = tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]

LOSSES: dict[str, LossPair] = {
    "bce": (bce_d, bce_g),
    "hinge": (hinge_d, hinge_g),
    "lsgan": (lsgan_d, lsgan_g),
}


def get_loss(name: str) -> LossPair:
    """The (d_loss, g_loss) pair registered under `name`."""
    try:
        return LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}: use one of {', '.join(sorted(LOSSES))}") from None
