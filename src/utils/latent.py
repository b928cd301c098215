"""Latent-space helpers."""

from __future__ import annotations

import torch
from torch import Tensor

PARALLEL_EPS = 1e-6  # below this sin(angle), the two codes are parallel and slerp is a lerp


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between codes a [d] and b [d] at fractions t [k] -> [k, d].

    Gaussian codes live near a sphere; a straight line between two of them passes through
    atypically short codes, the great circle does not (White, 2016).
    """
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1, 1))
    t = t.view(-1, 1)
    if torch.sin(omega).abs() < PARALLEL_EPS:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
