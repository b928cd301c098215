"""GAN losses as pure functions of discriminator logits: (d_loss(real, fake), g_loss(fake)).

Each D loss pushes real logits one way and fake logits the other; each G loss is the generator's
side of the same game. All take raw logits (no sigmoid) so mixed precision stays stable.

`LOSSES` holds the losses that are complete on their own. `PENALISED_LOSSES` holds those that are
only sound together with a gradient penalty on D (`gradient_penalty`, weighted by model.gp_weight,
which the GAN module adds to the D loss whenever the weight is > 0).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from src.core.checks import one_of


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


def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """WGAN critic (Arjovsky et al.): minimise E[D(fake)] - E[D(real)], an estimate of -W1."""
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor) -> Tensor:
    return -fake.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor | None = None
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al., 2017): E[(||grad_x critic(x)||_2 - 1)^2] on random interpolates.

    x = alpha * real + (1 - alpha) * fake with alpha ~ U[0, 1] per sample (or the given `alpha`, [B]).
    The gradient is taken with create_graph=True, so the penalty itself can be backpropagated into
    the critic's weights. Multiply by the penalty weight (lambda = 10 in the paper) outside.
    """
    real, fake = real.detach(), fake.detach()
    if alpha is None:
        alpha = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)
    alpha = alpha.view(-1, *([1] * (real.ndim - 1)))
    mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((torch.linalg.vector_norm(grad.flatten(1), dim=1) - 1.0) ** 2).mean()


LossPair = tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]

LOSSES: dict[str, LossPair] = {
    "bce": (bce_d, bce_g),
    "hinge": (hinge_d, hinge_g),
    "lsgan": (lsgan_d, lsgan_g),
}
PENALISED_LOSSES: dict[str, LossPair] = {
    "wgan_gp": (wasserstein_d, wasserstein_g),
}
ALL_LOSSES: dict[str, LossPair] = {**LOSSES, **PENALISED_LOSSES}


def get_loss(name: str) -> LossPair:
    """The (d_loss, g_loss) pair registered under `name` (a config error naming model.loss otherwise)."""
    return ALL_LOSSES[one_of(name, "model.loss", sorted(ALL_LOSSES))]
