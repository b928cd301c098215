"""The samplers on a toy case with the exact noise predictor: 1-D Gaussian data N(mu, s^2), where
eps*(x_t, t) = sqrt(1 - abar) (x_t - sqrt(abar) mu) / (abar s^2 + 1 - abar). Both samplers must give
back the data distribution, and DDIM with eta = 1 on all T steps the ancestral sampler's."""

from __future__ import annotations

import pytest
import torch

from src.core.errors import ConfigError
from src.diffusion.samplers import check_sampler, ddim_sample, ddim_timesteps, ddpm_sample
from src.diffusion.schedule import NoiseSchedule, make_betas

MU, S = 0.5, 0.3
N = 20_000


def exact_eps(schedule: NoiseSchedule):
    def eps(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        abar = schedule.alphas_cumprod[t].reshape(-1, 1)
        return (1 - abar).sqrt() * (x - abar.sqrt() * MU) / (abar * S**2 + 1 - abar)

    return eps


@pytest.fixture(scope="module")
def schedule() -> NoiseSchedule:
    return NoiseSchedule(make_betas("linear", 1000))


def gaussian_noise(seed: int):
    g = torch.Generator().manual_seed(seed)
    return lambda k: torch.randn(N, 1, generator=g)


def test_ddim_eta1_all_steps_matches_the_ancestral_sampler(schedule):
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(0))
    eps = exact_eps(schedule)
    ancestral = ddpm_sample(eps, schedule, x_T, gaussian_noise(1), clip=False)
    ddim = ddim_sample(eps, schedule, x_T, 1000, gaussian_noise(2), eta=1.0, clip=False)
    for x in (ancestral, ddim):  # both give back the data distribution ...
        assert x.mean().item() == pytest.approx(MU, abs=0.01)
        assert x.std().item() == pytest.approx(S, rel=0.03)
    assert ddim.mean().item() == pytest.approx(ancestral.mean().item(), abs=0.01)  # ... and each other
    assert ddim.std().item() == pytest.approx(ancestral.std().item(), rel=0.03)
    assert not torch.allclose(ddim, ancestral)  # other noise: the same law, not the same samples


def test_deterministic_ddim_gives_the_data_distribution_better_with_more_steps(schedule):
    x_T = torch.randn(N, 1, generator=torch.Generator().manual_seed(0))
    errors = []
    for steps in (50, 250, 1000):
        x = ddim_sample(exact_eps(schedule), schedule, x_T, steps, gaussian_noise(3), eta=0.0, clip=False)
        assert x.mean().item() == pytest.approx(MU, abs=0.01)
        errors.append(abs(x.std().item() - S) / S)
    assert errors[0] < 0.1 and errors[-1] < 0.01  # 50 steps: within 10% (measured 8%); all T: within 1%
    assert errors == sorted(errors, reverse=True)
    again = ddim_sample(exact_eps(schedule), schedule, x_T, 50, gaussian_noise(4), eta=0.0, clip=False)
    first = ddim_sample(exact_eps(schedule), schedule, x_T, 50, gaussian_noise(3), eta=0.0, clip=False)
    assert torch.equal(first, again)  # eta = 0: the noise is never used


def test_ddim_timesteps_are_evenly_spaced_and_complete():
    assert ddim_timesteps(1000, 1000) == list(range(1000))
    assert ddim_timesteps(1000, 50)[:3] == [0, 20, 40] and len(ddim_timesteps(1000, 50)) == 50
    assert ddim_timesteps(1000, 1) == [0]


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (("foo", 50, 0.0), "sampler='foo' is unknown"),
        (("ddim", 0, 0.0), "steps=0 is not allowed: use a whole number in 1..1000"),
        (("ddim", 1001, 0.0), "steps=1001 is not allowed"),
        (("ddpm", 50, 0.0), "steps=50 is not allowed with sampler=ddpm"),
        (("ddim", 50, -1.0), "eta=-1.0 is not allowed"),
    ],
)
def test_bad_sampler_options_are_one_line(args, start):
    with pytest.raises(ConfigError) as err:
        check_sampler(*args, timesteps=1000)
    assert str(err.value).startswith(start)
