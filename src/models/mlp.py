"""The course's first GAN: fully connected generator and discriminator (Goodfellow et al., 2014).

Kept as small as the course's version (one hidden layer each) so that the comparison with the DCGAN
shows what convolutions add, not what depth adds. The hidden width is called `base_width`, like the
DCGAN's channel width, so that one override (e.g. the smoke preset's) resizes any model.
"""

from __future__ import annotations

from torch import Tensor, nn

from src.core.checks import positive_int
from src.models.norms import hidden_norm

LEAK = 0.2  # LeakyReLU slope of the discriminator


class MLPGenerator(nn.Module):
    """z [B, latent_dim] -> Dense(hidden, ReLU) -> Dense(C*R*R), Tanh -> image [B, C, R, R]."""

    def __init__(self, latent_dim: int = 100, base_width: int = 128, resolution: int = 32, channels: int = 3):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        positive_int(base_width, "model.generator.base_width")
        self.image_shape = (channels, resolution, resolution)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, base_width),
            nn.ReLU(inplace=True),
            nn.Linear(base_width, channels * resolution * resolution),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """image [B, C, R, R] -> Flatten -> Dense(hidden, LeakyReLU 0.2) -> one logit per image [B]."""

    def __init__(self, base_width: int = 128, resolution: int = 32, channels: int = 3, norm: str = "none"):
        super().__init__()
        positive_int(base_width, "model.discriminator.base_width")
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(channels * resolution * resolution, base_width)]
        normalise = hidden_norm(norm, base_width, spatial=False)
        if normalise is not None:
            layers.append(normalise)
        layers += [nn.LeakyReLU(LEAK, inplace=True), nn.Linear(base_width, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).flatten()
