"""DiffAugment: differentiable, does what each policy says, and reaches every image D sees."""

from __future__ import annotations

import pytest
import torch

from src.core.errors import ConfigError
from src.gan.diffaugment import POLICIES, DiffAugment, color, cutout, diff_augment, parse_policy, translation


@pytest.mark.parametrize("policy", [*POLICIES, "color,translation,cutout"])
def test_every_policy_is_differentiable(policy):
    names = parse_policy(policy)

    def seeded(x):  # the same random draws at every call, so finite differences are meaningful
        torch.manual_seed(0)
        return diff_augment(x, names)

    x = torch.rand(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(seeded, (x,))
    seeded(x).sum().backward()
    assert x.grad.abs().sum() > 0


def test_translation_shifts_whole_images_and_brings_in_zeros():
    torch.manual_seed(3)
    x = torch.rand(64, 3, 16, 16) + 1.0  # no zeros of its own
    y = translation(x)
    found = 0
    for i in range(len(x)):
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.zeros_like(x[i])
                src = x[i][:, max(dy, 0) : 16 + min(dy, 0), max(dx, 0) : 16 + min(dx, 0)]
                shifted[:, max(-dy, 0) : 16 + min(-dy, 0), max(-dx, 0) : 16 + min(-dx, 0)] = src
                if torch.equal(y[i], shifted):
                    found += 1
    assert found == len(x)  # each output is its input shifted by at most 1/8 of the size
    assert (y == 0).any() and not torch.equal(x, y)


def test_cutout_erases_one_square_per_image():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 16, 16) + 1.0
    y = cutout(x)
    erased = (y == 0).all(1)  # [B, H, W]
    assert torch.equal(y, x * (~erased).unsqueeze(1))
    for mask in erased:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        assert mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a filled rectangle
        assert mask.sum() == len(rows) * len(cols)


def test_color_draws_per_image():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8).expand(16, 3, 8, 8)
    y = color(x)
    assert len({round(v, 5) for v in y.mean((1, 2, 3)).tolist()}) == 16


def test_empty_policy_is_the_identity_and_unknown_is_refused():
    x = torch.randn(2, 3, 8, 8)
    assert DiffAugment("")(x) is x and DiffAugment(None)(x) is x
    assert parse_policy(" color , cutout ") == ("color", "cutout")
    assert parse_policy(["translation"]) == ("translation",)
    with pytest.raises(ConfigError, match=r"model.diffaugment='color,zoom' has unknown 'zoom': use"):
        DiffAugment("color,zoom")
