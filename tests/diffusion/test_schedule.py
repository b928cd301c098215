"""Noise schedules against their closed forms, and q_sample's mean and variance."""

from __future__ import annotations

import math

import pytest
import torch

from src.core.errors import ConfigError
from src.diffusion.schedule import NoiseSchedule, cosine_alphas_cumprod, make_betas


def test_linear_alpha_bar_matches_its_closed_form():
    T, b1, bT = 1000, 1e-4, 0.02
    schedule = NoiseSchedule(make_betas("linear", T, b1, bT))
    for t in (0, 1, 499, 999):  # index t is the paper's step t + 1
        closed = math.prod(1 - (b1 + (bT - b1) * s / (T - 1)) for s in range(t + 1))
        assert schedule.alphas_cumprod[t].item() == pytest.approx(closed, rel=1e-5)
    assert schedule.alphas_cumprod[-1].item() == pytest.approx(4.04e-5, rel=0.01)  # x_T is nearly pure noise


def test_cosine_alpha_bar_matches_its_closed_form():
    T, s = 1000, 0.008
    schedule = NoiseSchedule(make_betas("cosine", T))

    def f(t: float) -> float:
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    for t in (0, 100, 500, 900):  # before the end, where beta's clip at 0.999 does not bite
        assert schedule.alphas_cumprod[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-4)
    assert torch.allclose(cosine_alphas_cumprod(T)[:900].float(), schedule.alphas_cumprod[:900], rtol=1e-4)


def test_q_sample_has_the_right_mean_and_variance():
    schedule = NoiseSchedule(make_betas("linear", 1000))
    torch.manual_seed(0)
    n, x0 = 200_000, 0.7
    for step in (10, 300, 900):
        t = torch.full((n,), step)
        xt = schedule.q_sample(torch.full((n, 1), x0), t, torch.randn(n, 1))
        abar = schedule.alphas_cumprod[step].item()
        assert xt.mean().item() == pytest.approx(math.sqrt(abar) * x0, abs=0.01)
        assert xt.var().item() == pytest.approx(1 - abar, rel=0.02)


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (("quadratic", 1000), "model.schedule='quadratic' is unknown"),
        (("linear", 0), "model.timesteps=0"),
        (("linear", 1000, 0.03, 0.02), "model.beta_start=0.03 and model.beta_end=0.02"),
    ],
)
def test_bad_schedules_are_one_line(args, start):
    with pytest.raises(ConfigError) as err:
        make_betas(*args)
    assert str(err.value).startswith(start)
