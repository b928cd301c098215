"""The SNGAN ResNet generator and discriminator for 32x32 CIFAR-10 (Miyato et al., 2018, appendix).

G: z -> linear to 4x4 -> 3 up-sampling residual blocks -> BN-ReLU-conv3x3 -> tanh. D: an "optimized"
first block, 3 pre-activation residual blocks (the first two halve the size by average pooling),
ReLU, global sum pooling, linear to one logit. Layers, order and init follow the authors' Chainer code
(pfnet-research/sngan_projection: gen_models/resnet_32.py, dis_models/snresnet_32.py, */resblocks.py)
and kwotsin/mimicry (torch_mimicry/nets/sngan/sngan_32.py, nets/modules/resblocks.py): xavier-uniform
weights, gain sqrt(2) on residual convs and 1 on shortcuts and linear layers, zero biases (Chainer's).
G up-samples by nearest neighbour as Chainer does (mimicry: bilinear); D's logit layer has a bias as in
mimicry (Chainer: none); D's shortcut sees the block input before its ReLU, as in Chainer. D is built
from plain layers: the GAN module adds spectral norm (`model.d_spectral_norm`). biggan.py reuses the blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.core.checks import is_whole, positive_int
from src.core.errors import ConfigError

RESOLUTION = 32  # the only size these CIFAR-10 nets are defined for
BASE_SIZE = 4  # G's first feature map is 4x4; three up-sampling blocks make it 32x32
NUM_UP_BLOCKS = 3
D_DOWNSAMPLE = (True, True, False, False)  # D's 4 blocks: 32 -> 16 -> 8 -> 8 -> 8
RESIDUAL_GAIN = math.sqrt(2.0)  # xavier gain of the 3x3 convs inside a residual branch
SCALE = 2  # up/down-sampling factor of one block


def check_no_norm(norm: object, net: str) -> None:
    """These discriminators have no normalisation layers (spectral norm bounds them instead); the
    key exists so that loss groups that set it (wgan_gp: none) apply to every GAN."""
    if norm != "none":
        raise ConfigError(
            f"model.discriminator.norm={norm!r} is not allowed: use none (the {net} D has none)"
        )


def check_resolution(resolution: object, net: str) -> int:
    if not (is_whole(resolution) and resolution == RESOLUTION):
        allowed = f"use {RESOLUTION} (the {net} is the 32x32 CIFAR-10 net)"
        raise ConfigError(f"data.resolution={resolution!r} is not allowed: {allowed}")
    return resolution


def xavier_(layer: nn.Conv2d | nn.Linear, gain: float = 1.0) -> None:
    nn.init.xavier_uniform_(layer.weight, gain)
    nn.init.zeros_(layer.bias)


def _norm(layer: nn.Module, x: Tensor, cond: Tensor | None) -> Tensor:
    return layer(x) if cond is None else layer(x, cond)


class UpBlock(nn.Module):
    """BN-ReLU-Upsample-Conv3x3-BN-ReLU-Conv3x3, plus an Upsample-Conv1x1 shortcut.

    `norm(channels)` builds each BN; a conditional one (biggan.py) is called as norm(x, cond).
    """

    def __init__(self, in_ch: int, out_ch: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d):
        super().__init__()
        self.norm1, self.norm2 = norm(in_ch), norm(out_ch)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1)
        xavier_(self.conv1, RESIDUAL_GAIN)
        xavier_(self.conv2, RESIDUAL_GAIN)
        xavier_(self.shortcut)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        h = F.interpolate(F.relu(_norm(self.norm1, x, cond)), scale_factor=SCALE, mode="nearest")
        h = self.conv2(F.relu(_norm(self.norm2, self.conv1(h), cond)))
        return h + self.shortcut(F.interpolate(x, scale_factor=SCALE, mode="nearest"))


class DownBlock(nn.Module):
    """ReLU-Conv3x3-ReLU-Conv3x3 (-AvgPool), plus a Conv1x1 (-AvgPool) shortcut when the shape changes.

    The `optimized` first block (on the image) has no leading ReLU, always down-samples and pools its
    shortcut before the 1x1 conv, as in the reference code.
    """

    def __init__(self, in_ch: int, out_ch: int, downsample: bool, optimized: bool = False):
        super().__init__()
        self.optimized, self.downsample = optimized, downsample or optimized
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        learnable = self.downsample or in_ch != out_ch
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if learnable else None
        xavier_(self.conv1, RESIDUAL_GAIN)
        xavier_(self.conv2, RESIDUAL_GAIN)
        if self.shortcut is not None:
            xavier_(self.shortcut)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.optimized else F.relu(x))))
        if self.downsample:
            h = F.avg_pool2d(h, SCALE)
        return h + self._shortcut(x)

    def _shortcut(self, x: Tensor) -> Tensor:
        if self.shortcut is None:
            return x
        if self.optimized:
            return self.shortcut(F.avg_pool2d(x, SCALE))
        s = self.shortcut(x)
        return F.avg_pool2d(s, SCALE) if self.downsample else s


def down_blocks(channels: int, width: int) -> list[DownBlock]:
    """D's 4 residual blocks of `width` channels: optimized, down, same, same."""
    first = DownBlock(channels, width, downsample=True, optimized=True)
    return [first] + [DownBlock(width, width, down) for down in D_DOWNSAMPLE[1:]]


class SNGANGenerator(nn.Module):
    """z [B, latent_dim] -> image [B, channels, 32, 32] in [-1, 1]."""

    def __init__(self, latent_dim: int = 128, base_width: int = 256, resolution: int = 32, channels: int = 3):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        self.width = positive_int(base_width, "model.generator.base_width")
        positive_int(channels, "model.generator.channels")
        check_resolution(resolution, "SNGAN ResNet")
        self.linear = nn.Linear(latent_dim, base_width * BASE_SIZE * BASE_SIZE)
        self.blocks = nn.ModuleList(UpBlock(base_width, base_width) for _ in range(NUM_UP_BLOCKS))
        self.norm = nn.BatchNorm2d(base_width)
        self.to_rgb = nn.Conv2d(base_width, channels, 3, padding=1)
        xavier_(self.linear)
        xavier_(self.to_rgb)

    def forward(self, z: Tensor) -> Tensor:
        h = self.linear(z).view(z.shape[0], self.width, BASE_SIZE, BASE_SIZE)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.to_rgb(F.relu(self.norm(h))))


class SNGANDiscriminator(nn.Module):
    """image [B, channels, 32, 32] -> one logit per image [B]."""

    def __init__(self, base_width: int = 128, resolution: int = 32, channels: int = 3, norm: str = "none"):
        super().__init__()
        check_no_norm(norm, "SNGAN ResNet")
        positive_int(base_width, "model.discriminator.base_width")
        positive_int(channels, "model.discriminator.channels")
        check_resolution(resolution, "SNGAN ResNet")
        self.blocks = nn.Sequential(*down_blocks(channels, base_width))
        self.linear = nn.Linear(base_width, 1)
        xavier_(self.linear)

    def features(self, x: Tensor) -> Tensor:
        """phi(x) [B, base_width]: ReLU then global sum pooling of the last block."""
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.features(x)).flatten()
