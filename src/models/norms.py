"""The normalisation choices of a discriminator's hidden layers: one rule for every net that has them.

A WGAN-GP critic must not use BatchNorm (the penalty is per sample, BatchNorm mixes samples), so
Gulrajani et al. use layer norm or nothing. GroupNorm with one group is layer norm over (C, H, W).
"""

from __future__ import annotations

from torch import nn

from src.core.checks import one_of

D_NORMS = ("batch", "none", "layer")


def hidden_norm(kind: str, features: int, spatial: bool) -> nn.Module | None:
    """The normalisation after a hidden layer of `features` channels (conv maps when `spatial`)."""
    one_of(kind, "model.discriminator.norm", D_NORMS)
    if kind == "batch":
        return nn.BatchNorm2d(features) if spatial else nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.GroupNorm(1, features) if spatial else nn.LayerNorm(features)
    return None
