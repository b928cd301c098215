"""DCGAN generator and discriminator (Radford et al., 2015), sized from the image resolution.

Both nets work on a 4x4 feature map at their narrow end and double/halve the spatial size per
block, so the number of blocks follows from the resolution: 32 px -> 3 stride-2 blocks, 64 px -> 4.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.utils.errors import ConfigError
from src.utils.validation import D_NORMS, check_resolution

BASE_SIZE = 4  # spatial size at the narrow end of both networks
DCGAN_INIT_STD = 0.02  # the paper's N(0, 0.02) initialisation
LEAK = 0.2  # LeakyReLU slope of the DCGAN discriminator


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


def feature_norm(kind: str, channels: int) -> nn.Module | None:
    """The normalisation after a discriminator conv: BatchNorm (DCGAN), none, or layer norm.

    A WGAN-GP critic must not use BatchNorm (the penalty is per sample, BatchNorm mixes samples), so
    Gulrajani et al. use layer norm or nothing; GroupNorm with one group is layer norm over (C, H, W).
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return None
    raise ConfigError(f"model.discriminator.norm={kind!r} is unknown: use one of {', '.join(D_NORMS)}")


class DCGANGenerator(nn.Module):
    """z [B, latent_dim] -> image [B, channels, resolution, resolution] in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, base_width: int = 64, resolution: int = 32, channels: int = 3):
        super().__init__()
        self.latent_dim = latent_dim
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
        n = num_stride2_blocks(resolution)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, base_width, 4, 2, 1, bias=False),
            nn.LeakyReLU(LEAK, True),
        ]
        width = base_width
        for _ in range(n - 1):
            normalise = feature_norm(norm, width * 2)
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
