"""DCGAN generator and discriminator (Radford et al., 2015), sized from the image resolution.

Both nets work on a 4x4 feature map at their narrow end and double/halve the spatial size per
block, so the number of blocks follows from the resolution: 32 px -> 3 stride-2 blocks, 64 px -> 4.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.utils.validation import check_resolution

BASE_SIZE = 4  # spatial size at the narrow end of both networks
DCGAN_INIT_STD = 0.02  # the paper's N(0, 0.02) initialisation


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
    """image [B, channels, resolution, resolution] -> one logit per image [B]."""

    def __init__(self, base_width: int = 64, resolution: int = 32, channels: int = 3):
        super().__init__()
        n = num_stride2_blocks(resolution)
        layers: list[nn.Module] = [
            nn.Conv2d(channels, base_width, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, True),
        ]
        width = base_width
        for _ in range(n - 1):
            layers += [
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(width * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers += [nn.Conv2d(width, 1, BASE_SIZE, 1, 0, bias=False)]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        return torch.flatten(self.net(x))
