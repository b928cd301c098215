"""Spherical interpolation of latent codes (src/generate.py), for the generate command's strip."""

from __future__ import annotations

import torch

from src.generate import slerp


def test_slerp_stays_on_the_sphere_between_its_ends():
    a, b = torch.randn(16), torch.randn(16)
    b = b / b.norm() * a.norm()
    path = slerp(a, b, torch.linspace(0, 1, 7))
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(7), rtol=1e-5)
