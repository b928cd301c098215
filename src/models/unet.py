"""The U-Net of Ho et al. (2020) for DDPM: eps_theta(x_t, t), an image and a timestep in, noise out.

Levels of `ch * ch_mult[i]` channels, each with `num_res_blocks` residual blocks (GroupNorm, SiLU,
3x3 convs, the timestep embedding added in between, dropout before the second conv), self-attention
at the resolutions in `attn_resolutions`, a stride-2 conv between levels; a middle of res-attn-res;
the up path mirrors it with skip connections from every down block. The timestep enters as a
sinusoidal embedding through a two-layer MLP of width 4 * ch. The defaults are the paper's CIFAR-10
net (ch 128, multipliers 1,2,2,2, two blocks, attention at 16x16, dropout 0.1: 35.7M parameters).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.core.checks import in_range, positive_int
from src.core.errors import ConfigError


def timestep_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoidal embedding [N, dim] of integer timesteps [N] (as in the paper's code)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(10000) * torch.arange(half, device=t.device, dtype=torch.float32) / (half - 1)
    )
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, temb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.temb = nn.Linear(temb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)  # each block starts as the identity (the paper's init scale 0)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, residual."""

    def __init__(self, channels: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return x + self.proj(out.transpose(1, 2).reshape(n, c, h, w))


class UNet(nn.Module):
    """eps_theta(x_t, t) for images [N, channels, resolution, resolution] in [-1, 1]."""

    def __init__(
        self,
        ch: int = 128,
        ch_mult: Sequence[int] = (1, 2, 2, 2),
        num_res_blocks: int = 2,
        attn_resolutions: Sequence[int] = (16,),
        dropout: float = 0.1,
        resolution: int = 32,
        channels: int = 3,
        norm_groups: int = 32,
    ):
        super().__init__()
        positive_int(ch, "model.unet.ch")
        ch_mult = list(ch_mult)
        if not ch_mult:
            raise ConfigError(
                "model.unet.ch_mult=[] is not allowed: use a list of whole numbers > 0, e.g. [1,2,2,2]"
            )
        for m in ch_mult:
            positive_int(m, "model.unet.ch_mult[i]")
        positive_int(num_res_blocks, "model.unet.num_res_blocks")
        in_range(dropout, "model.unet.dropout", 0.0, 1.0)
        positive_int(resolution, "model.unet.resolution")
        positive_int(channels, "model.unet.channels")
        positive_int(norm_groups, "model.unet.norm_groups")
        factor = 2 ** (len(ch_mult) - 1)
        if resolution % factor:
            raise ConfigError(
                f"model.unet.resolution={resolution} is not allowed with {len(ch_mult)} levels: use a "
                f"multiple of {factor} (or fewer entries in model.unet.ch_mult)"
            )
        levels = [resolution // 2**i for i in range(len(ch_mult))]
        attn_resolutions = [int(r) for r in attn_resolutions]
        for r in attn_resolutions:
            if r not in levels:
                raise ConfigError(
                    f"model.unet.attn_resolutions contains {r}: use resolutions of the levels, {levels}"
                )
        widths = [ch] + [ch * m for m in ch_mult]
        bad = [w for w in widths if w % norm_groups]
        if bad:
            raise ConfigError(
                f"model.unet.norm_groups={norm_groups} does not divide the width {bad[0]}: use a divisor "
                f"of model.unet.ch={ch}"
            )
        self.ch, self.resolution, self.channels = ch, resolution, channels
        temb_dim = 4 * ch
        self.temb = nn.Sequential(nn.Linear(ch, temb_dim), nn.SiLU(), nn.Linear(temb_dim, temb_dim))
        self.conv_in = nn.Conv2d(channels, ch, 3, padding=1)

        self.down = nn.ModuleList()
        skips, c = [ch], ch
        for i, mult in enumerate(ch_mult):
            for _ in range(num_res_blocks):
                block = nn.ModuleList([ResBlock(c, ch * mult, temb_dim, dropout, norm_groups)])
                c = ch * mult
                if levels[i] in attn_resolutions:
                    block.append(AttnBlock(c, norm_groups))
                self.down.append(block)
                skips.append(c)
            if i < len(ch_mult) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1)]))
                skips.append(c)

        self.mid = nn.ModuleList(
            [
                ResBlock(c, c, temb_dim, dropout, norm_groups),
                AttnBlock(c, norm_groups),
                ResBlock(c, c, temb_dim, dropout, norm_groups),
            ]
        )

        self.up = nn.ModuleList()
        for i, mult in reversed(list(enumerate(ch_mult))):
            for _ in range(num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(c + skips.pop(), ch * mult, temb_dim, dropout, norm_groups)])
                c = ch * mult
                if levels[i] in attn_resolutions:
                    block.append(AttnBlock(c, norm_groups))
                self.up.append(block)
            if i > 0:
                self.up.append(
                    nn.ModuleList(
                        [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1)]
                    )
                )
        self.norm_out = nn.GroupNorm(norm_groups, c)
        self.conv_out = nn.Conv2d(c, channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    @staticmethod
    def _run(block: nn.ModuleList, h: Tensor, temb: Tensor) -> Tensor:
        for layer in block:
            h = layer(h, temb) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        temb = self.temb(timestep_embedding(t, self.ch))
        hs = [self.conv_in(x)]
        for block in self.down:
            hs.append(self._run(block, hs[-1], temb))
        h = self._run(self.mid, hs[-1], temb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = torch.cat([h, hs.pop()], dim=1)
            h = self._run(block, h, temb)
        return self.conv_out(F.silu(self.norm_out(h)))
