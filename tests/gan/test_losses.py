from __future__ import annotations

import math

import pytest
import torch

from src.losses import LOSSES, get_loss

REAL = [2.0, -1.0, 0.5]
FAKE = [-3.0, 0.25, 1.0]


def log_sigmoid(v: float) -> float:
    return math.log(1.0 / (1.0 + math.exp(-v)))


def mean(values):
    return sum(values) / len(values)


def hand(name: str) -> tuple[float, float]:
    """Each loss written out by hand from its paper's formula, on the fixed logits above."""
    if name == "bce":
        d = -mean([log_sigmoid(r) for r in REAL]) - mean(
            [math.log(1 - math.exp(log_sigmoid(f))) for f in FAKE]
        )
        g = -mean([log_sigmoid(f) for f in FAKE])
    elif name == "hinge":
        d = mean([max(0.0, 1 - r) for r in REAL]) + mean([max(0.0, 1 + f) for f in FAKE])
        g = -mean(FAKE)
    elif name == "lsgan":
        d = 0.5 * mean([(r - 1) ** 2 for r in REAL]) + 0.5 * mean([f**2 for f in FAKE])
        g = 0.5 * mean([(f - 1) ** 2 for f in FAKE])
    return d, g


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_matches_hand_computation(name):
    d_loss, g_loss = get_loss(name)
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    d, g = hand(name)
    assert d_loss(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert g_loss(fake).item() == pytest.approx(g, rel=1e-12)


def test_unknown_loss():
    with pytest.raises(KeyError, match="unknown loss 'nope'"):
        get_loss("nope")
