"""Wasserstein losses and the WGAN-GP gradient penalty, against hand computations."""

from __future__ import annotations

import pytest
import torch

from src.losses import ALL_LOSSES, LOSSES, PENALISED_LOSSES, get_loss, gradient_penalty

REAL = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
FAKE = torch.tensor([-3.0, 0.25, 1.0], dtype=torch.float64)


def test_wasserstein_losses_by_hand():
    d_loss, g_loss = get_loss("wgan_gp")
    assert d_loss(REAL, FAKE).item() == pytest.approx((-3.0 + 0.25 + 1.0) / 3 - (2.0 - 1.0 + 0.5) / 3)
    assert g_loss(FAKE).item() == pytest.approx(-(-3.0 + 0.25 + 1.0) / 3)


def test_registries():
    assert set(ALL_LOSSES) == {"bce", "hinge", "lsgan", "wgan_gp"}
    assert "wgan_gp" in PENALISED_LOSSES and "wgan_gp" not in LOSSES


@pytest.mark.parametrize("w_norm", [0.5, 1.0, 3.0])
def test_penalty_of_a_linear_critic_is_norm_of_w_minus_one_squared(w_norm):
    torch.manual_seed(0)
    w = torch.randn(3 * 4 * 4, dtype=torch.float64)
    w = w / w.norm() * w_norm

    def critic(x):  # f(x) = w.x: the gradient is w everywhere, so ||grad|| = ||w|| exactly
        return x.flatten(1) @ w

    real = torch.randn(5, 3, 4, 4, dtype=torch.float64)
    fake = torch.randn(5, 3, 4, 4, dtype=torch.float64)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((w_norm - 1.0) ** 2, abs=1e-12)


def test_penalty_is_taken_on_the_interpolates():
    def critic(x):  # f(x) = ||x||^2 / 2: the gradient at x is x itself
        return 0.5 * (x.flatten(1) ** 2).sum(1)

    real = torch.tensor([[3.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    fake = torch.tensor([[1.0, 0.0], [0.0, -2.0]], dtype=torch.float64)
    alpha = torch.tensor([0.5, 0.25], dtype=torch.float64)
    # interpolates: [2, 0] (norm 2) and [0, -1] (norm 1): ((2-1)^2 + (1-1)^2) / 2
    assert gradient_penalty(critic, real, fake, alpha).item() == pytest.approx(0.5)


def test_penalty_backpropagates_into_the_critic_not_the_images():
    lin = torch.nn.Linear(6, 1)
    real = torch.randn(4, 6, requires_grad=True)
    fake = torch.randn(4, 6, requires_grad=True)
    gradient_penalty(lambda x: lin(x).flatten(), real, fake).backward()
    assert lin.weight.grad is not None and lin.weight.grad.abs().sum() > 0
    assert real.grad is None and fake.grad is None  # the penalty trains D only
