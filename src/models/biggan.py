"""BigGAN for 32x32 CIFAR-10 (Brock et al., 2019), as PyTorch-StudioGAN configures it for CIFAR-10.

Follows StudioGAN's src/models/big_resnet.py with src/configs/CIFAR10/BigGAN-Mod.yaml (= BigGAN.json):
z_dim 80, g_shared_dim 128, g_conv_dim = d_conv_dim = 96 (G blocks 4 x 96 = 384 channels, D blocks
2 x 96 = 192), self-attention after G's 2nd and D's 1st block (16x16), spectral norm in G and D,
orthogonal init. G: hierarchical z (one chunk for the first linear layer, one per block) and class-
conditional BatchNorm whose gain 1 + W_g c and bias W_b c are linear in c = [shared class embedding,
z chunk]. D: the SNGAN residual blocks (resnet.py) and a projection head, logit = psi(phi(x)) +
<embed(y), phi(x)> (Miyato & Koyama, 2018). Spectral norm is part of this architecture, so these
classes apply it themselves (eps 1e-6 as StudioGAN; G's shared embedding is not normalised).
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from src.core.checks import boolean, positive_int
from src.core.errors import ConfigError
from src.models.resnet import BASE_SIZE, NUM_UP_BLOCKS, UpBlock, check_no_norm, check_resolution, down_blocks

Z_CHUNKS = NUM_UP_BLOCKS + 1  # hierarchical z: one chunk for the first linear layer, one per G block
G_WIDTH_MULT = 4  # G's blocks have 4 * base_width channels at 32 px (StudioGAN g_conv_dim * 4)
D_WIDTH_MULT = 2  # D's blocks have 2 * base_width channels at 32 px (StudioGAN d_conv_dim * 2)
G_ATTENTION_AFTER = 2  # self-attention after G's 2nd block (16x16), StudioGAN attn_g_loc [2]
D_ATTENTION_AFTER = 1  # self-attention after D's 1st block (16x16), StudioGAN attn_d_loc [1]
ATTENTION_KEY_DIV, ATTENTION_VALUE_DIV = 8, 2  # SAGAN: keys C/8, values C/2 channels
BN_EPS = 1e-4  # StudioGAN's BatchNorm eps
SN_EPS = 1e-6  # StudioGAN's spectral-norm eps


def orthogonal_init_(module: nn.Module) -> None:
    """Orthogonal weights for every conv, linear and embedding layer, zero biases (BigGAN's init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.orthogonal_(m.weight)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


def spectral_norm_(module: nn.Module, layers: tuple[type[nn.Module], ...]) -> None:
    for m in [m for m in module.modules() if isinstance(m, layers)]:
        spectral_norm(m, eps=SN_EPS)


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own affine; gain 1 + W_g c and bias W_b c come from a condition vector c."""

    def __init__(self, cond_dim: int, channels: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, eps=BN_EPS, affine=False)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        gain, bias = 1 + self.gain(cond), self.bias(cond)
        return self.bn(x) * gain[:, :, None, None] + bias[:, :, None, None]


class SelfAttention(nn.Module):
    """SAGAN's attention block (Zhang et al., 2019): keys and values max-pooled 2x, and the attended
    values added to x scaled by a learnt sigma that starts at 0 (so the block starts as the identity)."""

    def __init__(self, channels: int):
        super().__init__()
        keys, values = max(1, channels // ATTENTION_KEY_DIV), max(1, channels // ATTENTION_VALUE_DIV)
        self.theta = nn.Conv2d(channels, keys, 1, bias=False)
        self.phi = nn.Conv2d(channels, keys, 1, bias=False)
        self.g = nn.Conv2d(channels, values, 1, bias=False)
        self.out = nn.Conv2d(values, channels, 1, bias=False)
        self.sigma = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        query = self.theta(x).flatten(2)  # [B, keys, HW]
        key = F.max_pool2d(self.phi(x), 2).flatten(2)  # [B, keys, HW/4]
        value = F.max_pool2d(self.g(x), 2).flatten(2)  # [B, values, HW/4]
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # [B, HW, HW/4]
        attended = (value @ attention.transpose(1, 2)).view(b, -1, h, w)
        return x + self.sigma * self.out(attended)


class BigGANGenerator(nn.Module):
    """(z [B, latent_dim], labels [B]) -> image [B, channels, 32, 32] in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 80,
        num_classes: int = 10,
        shared_dim: int = 128,
        base_width: int = 96,
        resolution: int = 32,
        channels: int = 3,
        attention: bool = True,
    ):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        if latent_dim % Z_CHUNKS:
            raise ConfigError(
                f"model.latent_dim={latent_dim} is not allowed: use a multiple of {Z_CHUNKS} "
                f"(z is split into one chunk for the first layer and one per block)"
            )
        self.num_classes = positive_int(num_classes, "model.generator.num_classes")
        positive_int(shared_dim, "model.generator.shared_dim")
        positive_int(base_width, "model.generator.base_width")
        positive_int(channels, "model.generator.channels")
        boolean(attention, "model.generator.attention")
        check_resolution(resolution, "BigGAN")
        self.chunk, self.width = latent_dim // Z_CHUNKS, G_WIDTH_MULT * base_width
        self.shared = nn.Embedding(num_classes, shared_dim)
        self.linear = nn.Linear(self.chunk, self.width * BASE_SIZE * BASE_SIZE)
        norm = partial(ConditionalBatchNorm2d, shared_dim + self.chunk)
        self.blocks = nn.ModuleList(UpBlock(self.width, self.width, norm) for _ in range(NUM_UP_BLOCKS))
        self.attention = SelfAttention(self.width) if attention else None
        self.norm = nn.BatchNorm2d(self.width, eps=BN_EPS)
        self.to_rgb = nn.Conv2d(self.width, channels, 3, padding=1)
        orthogonal_init_(self)
        spectral_norm_(self, (nn.Conv2d, nn.Linear))  # not the shared embedding, as in StudioGAN

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """labels [B] in [0, num_classes); None draws them uniformly."""
        if labels is None:
            labels = torch.randint(0, self.num_classes, (z.shape[0],), device=z.device)
        first, *per_block = torch.split(z, self.chunk, dim=1)
        shared = self.shared(labels)
        h = self.linear(first).view(z.shape[0], self.width, BASE_SIZE, BASE_SIZE)
        for index, (block, z_chunk) in enumerate(zip(self.blocks, per_block), start=1):
            h = block(h, torch.cat([shared, z_chunk], dim=1))
            if index == G_ATTENTION_AFTER and self.attention is not None:
                h = self.attention(h)
        return torch.tanh(self.to_rgb(F.relu(self.norm(h))))


class BigGANDiscriminator(nn.Module):
    """(image [B, channels, 32, 32], labels [B]) -> one logit per image [B]: psi(phi) + <embed(y), phi>."""

    def __init__(
        self,
        num_classes: int = 10,
        base_width: int = 96,
        resolution: int = 32,
        channels: int = 3,
        attention: bool = True,
        norm: str = "none",
    ):
        super().__init__()
        check_no_norm(norm, "BigGAN")
        self.num_classes = positive_int(num_classes, "model.discriminator.num_classes")
        positive_int(base_width, "model.discriminator.base_width")
        positive_int(channels, "model.discriminator.channels")
        boolean(attention, "model.discriminator.attention")
        check_resolution(resolution, "BigGAN")
        width = D_WIDTH_MULT * base_width
        layers: list[nn.Module] = list(down_blocks(channels, width))
        if attention:
            layers.insert(D_ATTENTION_AFTER, SelfAttention(width))
        self.blocks = nn.Sequential(*layers)
        self.linear = nn.Linear(width, 1)
        self.embed = nn.Embedding(num_classes, width)
        orthogonal_init_(self)
        spectral_norm_(self, (nn.Conv2d, nn.Linear, nn.Embedding))

    def phi(self, x: Tensor) -> Tensor:
        """The image features [B, 2 * base_width]: ReLU then global sum pooling of the last block."""
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        features = self.phi(x)
        return self.linear(features).flatten() + (self.embed(labels) * features).sum(dim=1)
