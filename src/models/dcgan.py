"""DCGAN generator and discriminator (Radford et al., 2015), sized from the image resolution.

Both nets work on a 4x4 feature map at their narrow end and double/halve the spatial size per
block, so the number of blocks follows from the resolution: 32 px -> 3 stride-2 blocks, 64 px -> 4.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.core.checks import is_whole, positive_int
from src.core.errors import ConfigError
from src.models.norms import hidden_norm

BASE_SIZE = 4  # spatial size at the narrow end of both networks
DCGAN_INIT_STD = 0.02  # the paper's N(0, 0.02) initialisation
LEAK = 0.2  # LeakyReLU slope of the DCGAN discriminator


def is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def check_resolution(resolution: int, minimum: int = 32) -> int:
    """The DCGAN block count is derived from the resolution, so it must be a power of two >= 32."""
    if not (is_whole(resolution) and resolution >= minimum and is_power_of_two(resolution)):
        raise ConfigError(f"data.resolution={resolution!r} is not allowed: use a power of two >= {minimum}")
    return resolution


def num_stride2_blocks(resolution: int) -> int:
    """Stride-2 (de)convolutions between 4x4 and `resolution` x `resolution`."""
    return int(math.log2(check_resolution(resolution) // BASE_SIZE))


def dcgan_init_(module: nn.Module) -> None:
    """Conv weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0 (as in the paper)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, DCGAN_INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, DCGAN_INIT_STD)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """z [B, latent_dim] -> image [B, channels, resolution, resolution] in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, base_width: int = 64, resolution: int = 32, channels: int = 3):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        positive_int(base_width, "model.generator.base_width")
        n = num_stride2_blocks(resolution)
        width = base_width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, width, BASE_SIZE, 1, 0, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(n - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], self.latent_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """image [B, channels, resolution, resolution] -> one logit per image [B].

    `net[:-1]` maps an image to its features (width x 4 x 4) and `net[-1]`, a 4x4 conv, is a linear
    map of them to the logit; the projection discriminator (src/models/cdcgan.py) reuses both parts.
    """

    def __init__(self, base_width: int = 64, resolution: int = 32, channels: int = 3, norm: str = "batch"):
        super().__init__()
        positive_int(base_width, "model.discriminator.base_width")
        n = num_stride2_blocks(resolution)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, base_width, 4, 2, 1, bias=False),
            nn.LeakyReLU(LEAK, True),
        ]
        width = base_width
        for _ in range(n - 1):
            normalise = hidden_norm(norm, width * 2, spatial=True)
            layers.append(nn.Conv2d(width, width * 2, 4, 2, 1, bias=normalise is None))
            if normalise is not None:
                layers.append(normalise)
            layers.append(nn.LeakyReLU(LEAK, inplace=True))
            width *= 2
        layers += [nn.Conv2d(width, 1, BASE_SIZE, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        self.feature_dim = width * BASE_SIZE * BASE_SIZE
        dcgan_init_(self)

    def features(self, x: Tensor) -> Tensor:
        """phi(x): the last conv block's output [B, width, 4, 4]."""
        return self.net[:-1](x)

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.net(x))
