"""Precision, recall, density and coverage of generated features against real ones.

FID mixes fidelity and diversity into one number; these four separate them, from the same pool3
features FID uses (no second pass). Around every real feature lies a ball whose radius is the
distance to its k-th nearest real neighbour; the union of the balls estimates the real manifold.

- precision (Kynkaenniemi et al. 2019): the share of generated samples inside the real manifold;
- recall (same paper): the share of real samples inside the generated manifold (balls around the
  generated features, radii from their own k-th neighbours);
- density (Naeem et al. 2020): how many real balls hold each generated sample, divided by k: about 1
  when the two distributions match, above 1 where generated samples crowd around real ones;
- coverage (same paper): the share of real balls that hold at least one generated sample.

Distances are computed in chunks of rows, so 50k x 50k features never need a 50k x 50k matrix.
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.core.checks import whole

DEFAULT_K = 3  # Kynkaenniemi et al.'s k (Naeem et al. use 5)
PRDC_NAMES = ("precision", "recall", "density", "coverage")
CHUNK = 1024  # rows of a distance block: CHUNK x n floats at a time


def _blocks(a: Tensor, b: Tensor):
    """(first row, distances [chunk, len(b)]) for successive row chunks of a."""
    for start in range(0, len(a), CHUNK):
        yield start, torch.cdist(a[start : start + CHUNK], b)


def knn_radii(features: Tensor, k: int) -> Tensor:
    """Distance of each feature to its k-th nearest neighbour among the others [n]."""
    radii = torch.empty(len(features), dtype=features.dtype, device=features.device)
    for start, d in _blocks(features, features):
        radii[start : start + len(d)] = d.kthvalue(k + 1, dim=1).values  # + 1: itself, at distance 0
    return radii


def prdc(real: Tensor, fake: Tensor, k: int = DEFAULT_K, name: str = "prdc_k") -> dict[str, float]:
    """Precision, recall, density and coverage of `fake` [m, d] against `real` [n, d] with k neighbours.

    `k` must leave k neighbours besides the point itself on both sides: 1 <= k < min(n, m); a bad
    value is one line naming `name`."""
    whole(k, name, 1, min(len(real), len(fake)) - 1, note=" (fewer than the real and generated samples)")
    real, fake = real.float(), fake.to(real.device).float()
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    in_real = torch.zeros(len(fake), dtype=torch.bool, device=real.device)  # fake j in some real ball
    balls_holding = torch.zeros(len(fake), device=real.device)  # how many real balls hold fake j
    covered = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # real ball i holds a fake
    for start, d in _blocks(fake, real):  # d[j, i] = |fake_j - real_i|
        inside = d <= real_radii
        in_real[start : start + len(d)] = inside.any(dim=1)
        balls_holding[start : start + len(d)] = inside.sum(dim=1)
        covered |= inside.any(dim=0)
    in_fake = torch.zeros(len(real), dtype=torch.bool, device=real.device)  # real i in some fake ball
    for start, d in _blocks(real, fake):
        in_fake[start : start + len(d)] = (d <= fake_radii).any(dim=1)
    return {
        "precision": float(in_real.float().mean()),
        "recall": float(in_fake.float().mean()),
        "density": float(balls_holding.mean() / k),
        "coverage": float(covered.float().mean()),
    }
