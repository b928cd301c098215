"""Spectral normalisation of D (src/gan/spectral_norm.py): every conv and linear layer ends near 1."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.gan.spectral_norm import apply_spectral_norm
from src.models import DCGANDiscriminator, MLPDiscriminator


def top_singular_value(weight: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2).item()


@pytest.mark.parametrize("make", [lambda: DCGANDiscriminator(base_width=8, norm="none"), MLPDiscriminator])
def test_spectral_norm_bounds_the_top_singular_value(make):
    torch.manual_seed(0)
    d = make()
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(3.0)  # well away from 1 before normalising
    raw = [top_singular_value(layer.weight) for layer in layers]
    assert all(abs(s - 1) > 0.1 for s in raw)
    apply_spectral_norm(d)
    d.train()
    with torch.no_grad():
        for _ in range(100):  # one power iteration per training forward
            d(torch.randn(4, 3, 32, 32))
    for layer in layers:
        assert torch.nn.utils.parametrize.is_parametrized(layer, "weight")
        assert top_singular_value(layer.weight) == pytest.approx(1.0, abs=2e-2)
