"""Noise schedules: beta_t for t = 1..T and what follows from them (alpha-bar, the posterior).

The forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), abar_t = prod_{s<=t} (1 - beta_s).
`linear` is Ho et al.'s (beta from 1e-4 to 0.02 over T = 1000 steps); `cosine` is Nichol & Dhariwal's
(abar_t = f(t) / f(0), f(t) = cos^2((t/T + s) / (1 + s) * pi/2), betas clipped at 0.999). Index t of
every tensor here is the paper's step t + 1: t = 0 is the least noisy step.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.core.checks import in_range, one_of, positive_int
from src.core.errors import ConfigError

SCHEDULES = ("linear", "cosine")
COSINE_OFFSET = 0.008  # Nichol & Dhariwal's s
MAX_BETA = 0.999


def linear_betas(timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)


def cosine_alphas_cumprod(timesteps: int, s: float = COSINE_OFFSET) -> Tensor:
    """abar_t = f(t) / f(0) for t = 1..T, unclipped (float64)."""
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return (f / f[0])[1:]


def cosine_betas(timesteps: int, s: float = COSINE_OFFSET) -> Tensor:
    abar = torch.cat([torch.ones(1, dtype=torch.float64), cosine_alphas_cumprod(timesteps, s)])
    return (1 - abar[1:] / abar[:-1]).clamp(max=MAX_BETA)


def make_betas(schedule: str, timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> Tensor:
    """beta_1..beta_T of a named schedule (float64), after checking the arguments."""
    one_of(schedule, "model.schedule", SCHEDULES)
    positive_int(timesteps, "model.timesteps")
    if schedule == "linear":
        in_range(beta_start, "model.beta_start", 0.0, 1.0)
        in_range(beta_end, "model.beta_end", 0.0, 1.0)
        if not 0 < beta_start <= beta_end:
            raise ConfigError(
                f"model.beta_start={beta_start} and model.beta_end={beta_end} are not allowed: use "
                "0 < beta_start <= beta_end < 1"
            )
        return linear_betas(timesteps, beta_start, beta_end)
    return cosine_betas(timesteps)


class NoiseSchedule(nn.Module):
    """The schedule's tensors as float32 buffers (not saved: they follow from the config)."""

    def __init__(self, betas: Tensor):
        super().__init__()
        betas = betas.double()
        abar = torch.cumprod(1 - betas, dim=0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        self.timesteps = len(betas)
        tensors = {
            "betas": betas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "sqrt_alphas_cumprod": abar.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1 - abar).sqrt(),
            # q(x_{t-1} | x_t, x_0): mean = coef_x0 * x_0 + coef_xt * x_t, variance beta-tilde
            "posterior_variance": betas * (1 - abar_prev) / (1 - abar),
            "posterior_coef_x0": betas * abar_prev.sqrt() / (1 - abar),
            "posterior_coef_xt": (1 - betas).sqrt() * (1 - abar_prev) / (1 - abar),
        }
        for name, value in tensors.items():
            self.register_buffer(name, value.float(), persistent=False)

    @staticmethod
    def _at(values: Tensor, t: Tensor, ndim: int) -> Tensor:
        return values[t].reshape(-1, *([1] * (ndim - 1)))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t ~ q(x_t | x_0) for timesteps t [N], given the noise."""
        return (
            self._at(self.sqrt_alphas_cumprod, t, x0.ndim) * x0
            + self._at(self.sqrt_one_minus_alphas_cumprod, t, x0.ndim) * noise
        )
