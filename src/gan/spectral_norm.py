"""Spectral normalisation of a discriminator (Miyato et al., 2018), with PyTorch's parametrization."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMALISED_LAYERS = (nn.Conv2d, nn.Linear)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Divide the weight of every conv and linear layer by its largest singular value (in place).

    Each such layer then is (about) 1-Lipschitz, which bounds D's slope instead of clipping weights
    or penalising gradients. The singular value comes from one power iteration per training forward.
    """
    layers = [m for m in module.modules() if isinstance(m, NORMALISED_LAYERS)]
    for layer in layers:
        spectral_norm(layer)
    return module
