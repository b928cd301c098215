"""GAN losses, one class each: `d(real, fake)` for D's step, `g(fake)` for G's, both on D's raw outputs
(logits: no sigmoid, so mixed precision stays stable), and `readout(real, fake)`, what is worth watching
of D's outputs in TensorBoard for that loss.

`BCE` is the course's loss and the DCGANs' default. `Wasserstein` is sound only together with the
gradient penalty on D (`gradient_penalty`, weighted by model.gp_weight, which the GAN adds to D's
loss whenever the weight is > 0; conf/loss/wgan_gp.yaml sets it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from src.core.checks import one_of


def bce(logits: Tensor, target: float) -> Tensor:
    """Binary cross-entropy of D's logits against one label (1 = real, 0 = fake) for every image."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class BCE:
    """D labels real images 1 and fakes 0; G wants its fakes labelled 1 (the non-saturating -log D(G(z)))."""

    @staticmethod
    def d(real: Tensor, fake: Tensor) -> Tensor:
        return bce(real, 1.0) + bce(fake, 0.0)

    @staticmethod
    def g(fake: Tensor) -> Tensor:
        return bce(fake, 1.0)

    @staticmethod
    def readout(real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """D's mean probability that a real image, and that a fake one, is real."""
        return {"D(x)": torch.sigmoid(real).mean(), "D(G(z))": torch.sigmoid(fake).mean()}


def critic_readout(real: Tensor, fake: Tensor) -> dict[str, Tensor]:
    """A critic's scores are not probabilities: its mean score of real and of fake images, and the gap
    between them (for WGAN, the estimate of the Wasserstein distance)."""
    real, fake = real.mean(), fake.mean()
    return {"critic/real": real, "critic/fake": fake, "critic/gap": real - fake}


class Hinge:
    """D pushes real scores above +1 and fake ones below -1; G raises the score of its fakes."""

    readout = staticmethod(critic_readout)

    @staticmethod
    def d(real: Tensor, fake: Tensor) -> Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    @staticmethod
    def g(fake: Tensor) -> Tensor:
        return -fake.mean()


class LSGAN:
    """Least squares (Mao et al.): D regresses real images to 1 and fakes to 0; G pulls its fakes to 1."""

    @staticmethod
    def d(real: Tensor, fake: Tensor) -> Tensor:
        return 0.5 * ((real - 1.0) ** 2).mean() + 0.5 * (fake**2).mean()

    @staticmethod
    def g(fake: Tensor) -> Tensor:
        return 0.5 * ((fake - 1.0) ** 2).mean()

    @staticmethod
    def readout(real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        """D's mean output on real and on fake images: the regression targets are 1 and 0."""
        return {"D(x)": real.mean(), "D(G(z))": fake.mean()}


class Wasserstein:
    """WGAN critic (Arjovsky et al.): minimise E[D(fake)] - E[D(real)], an estimate of -W1."""

    readout = staticmethod(critic_readout)

    @staticmethod
    def d(real: Tensor, fake: Tensor) -> Tensor:
        return fake.mean() - real.mean()

    @staticmethod
    def g(fake: Tensor) -> Tensor:
        return -fake.mean()


LOSSES = {"bce": BCE, "hinge": Hinge, "lsgan": LSGAN, "wgan_gp": Wasserstein}


def get_loss(name: str) -> type:
    """The loss registered under `name` (a config error naming model.loss otherwise)."""
    return LOSSES[one_of(name, "model.loss", sorted(LOSSES))]


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
