"""Every GAN loss and the WGAN-GP gradient penalty, against hand computations from the papers' formulas."""

from __future__ import annotations

import math

import pytest
import torch

from src.core.errors import ConfigError
from src.gan.losses import LOSSES, Wasserstein, get_loss, gradient_penalty

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
    elif name == "wgan_gp":  # the critic's Wasserstein estimate, negated; the penalty is added apart
        d = mean(FAKE) - mean(REAL)
        g = -mean(FAKE)
    return d, g


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_matches_hand_computation(name):
    loss = get_loss(name)
    d_loss, g_loss = loss.d, loss.g
    real, fake = torch.tensor(REAL, dtype=torch.float64), torch.tensor(FAKE, dtype=torch.float64)
    d, g = hand(name)
    assert d_loss(real, fake).item() == pytest.approx(d, rel=1e-12)
    assert g_loss(fake).item() == pytest.approx(g, rel=1e-12)


def test_unknown_loss_is_one_line_naming_model_loss():
    with pytest.raises(ConfigError) as err:
        get_loss("nope")
    message = str(err.value)
    assert message.startswith("model.loss='nope' is unknown: use one of") and "\n" not in message
    assert all(name in message for name in LOSSES)


# --- the registries and the WGAN-GP gradient penalty


def test_registry():
    assert set(LOSSES) == {"bce", "hinge", "lsgan", "wgan_gp"} and LOSSES["wgan_gp"] is Wasserstein


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_loss_reads_out_what_means_something_for_it(name):
    """Probabilities for BCE only; LSGAN's regression outputs as they are; a critic's scores and gap."""
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    out = {k: v.item() for k, v in get_loss(name).readout(real, fake).items()}
    if name == "bce":
        assert out == pytest.approx({"D(x)": mean([1 / (1 + math.exp(-r)) for r in REAL]),
                                     "D(G(z))": mean([1 / (1 + math.exp(-f)) for f in FAKE])})  # fmt: skip
    elif name == "lsgan":
        assert out == pytest.approx({"D(x)": mean(REAL), "D(G(z))": mean(FAKE)})
    else:
        gap = mean(REAL) - mean(FAKE)
        assert out == pytest.approx({"critic/real": mean(REAL), "critic/fake": mean(FAKE), "critic/gap": gap})


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
