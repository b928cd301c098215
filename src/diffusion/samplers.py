"""From x_T ~ N(0, I) to x_0 by a noise predictor eps(x_t, t): ancestral DDPM and DDIM.

- `ddpm` (Ho et al. 2020): all T steps, x_{t-1} = posterior mean given the predicted x_0 +
  sigma_t z with sigma_t^2 = beta_t (the paper's choice for CIFAR-10); no noise at the last step.
- `ddim` (Song et al. 2021): any number of steps on an evenly spaced subsequence of 0..T-1;
  `eta` scales the noise: 0 is deterministic (x_T alone fixes the image), 1 with all T steps is the
  ancestral sampler with the posterior variance beta-tilde_t.

Both take their per-step noise from `noise(k)` (the k-th step's tensor shaped like x), so the caller
decides how it is drawn (DDPM.sample draws it per sample index, see module.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from src.core.checks import non_negative, one_of, whole
from src.core.errors import ConfigError
from src.diffusion.schedule import NoiseSchedule

SAMPLERS = ("ddpm", "ddim")
EpsFn = Callable[[Tensor, Tensor], Tensor]
NoiseFn = Callable[[int], Tensor]
StepHook = Callable[[int, Tensor], None]


def check_sampler(
    sampler: object, steps: object, eta: object, timesteps: int, prefix: str = "", steps_key: str = "steps"
) -> None:
    """The sampler rule, written once: one ConfigError line for an unknown sampler, a step count outside
    1..T (the ancestral sampler takes all T) or a negative eta. `prefix` and `steps_key` name the keys."""
    one_of(sampler, f"{prefix}sampler", SAMPLERS)
    whole(steps, f"{prefix}{steps_key}", 1, timesteps, note=" (the model's T)")
    if sampler == "ddpm" and steps != timesteps:
        raise ConfigError(
            f"{prefix}{steps_key}={steps} is not allowed with sampler=ddpm: the ancestral sampler takes all "
            f"{timesteps} steps (use steps={timesteps}, or sampler=ddim for fewer)"
        )
    non_negative(eta, f"{prefix}eta", zero_means="deterministic DDIM")


def ddim_timesteps(timesteps: int, steps: int) -> list[int]:
    """An evenly spaced increasing subsequence of 0..T-1 with `steps` entries, starting at 0."""
    return sorted({(i * timesteps) // steps for i in range(steps)})


def _predict_x0(schedule: NoiseSchedule, x: Tensor, eps: Tensor, t: int, clip: bool) -> tuple[Tensor, Tensor]:
    """x_0 predicted from eps (clipped to [-1, 1] when asked) and the eps consistent with it."""
    a = schedule.alphas_cumprod[t]
    x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
    if clip:
        x0 = x0.clamp(-1, 1)
        eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
    return x0, eps


def _t(x: Tensor, t: int) -> Tensor:
    return torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)


@torch.no_grad()
def ddpm_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x: Tensor,
    noise: NoiseFn,
    clip: bool = True,
    hook: StepHook | None = None,
) -> Tensor:
    """Ancestral sampling, T steps, sigma_t^2 = beta_t."""
    for k, t in enumerate(reversed(range(schedule.timesteps))):
        x0, _ = _predict_x0(schedule, x, eps_fn(x, _t(x, t)), t, clip)
        x = schedule.posterior_coef_x0[t] * x0 + schedule.posterior_coef_xt[t] * x
        if t > 0:
            x = x + schedule.betas[t].sqrt() * noise(k)
        if hook is not None:
            hook(k, x)
    return x


@torch.no_grad()
def ddim_sample(
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x: Tensor,
    steps: int,
    noise: NoiseFn,
    eta: float = 0.0,
    clip: bool = True,
    hook: StepHook | None = None,
) -> Tensor:
    """DDIM on `steps` evenly spaced timesteps; eta = 0 deterministic, eta = 1 DDPM-like noise."""
    ts = ddim_timesteps(schedule.timesteps, steps)
    one = torch.ones((), device=x.device)
    for k in range(len(ts)):
        t = ts[-1 - k]
        t_prev = ts[-2 - k] if k < len(ts) - 1 else None
        a = schedule.alphas_cumprod[t]
        a_prev = schedule.alphas_cumprod[t_prev] if t_prev is not None else one
        x0, eps = _predict_x0(schedule, x, eps_fn(x, _t(x, t)), t, clip)
        sigma = eta * ((1 - a_prev) / (1 - a) * (1 - a / a_prev)).clamp(min=0).sqrt()
        x = a_prev.sqrt() * x0 + (1 - a_prev - sigma**2).clamp(min=0).sqrt() * eps
        if eta > 0 and t_prev is not None:
            x = x + sigma * noise(k)
        if hook is not None:
            hook(k, x)
    return x


def run_sampler(
    sampler: str,
    eps_fn: EpsFn,
    schedule: NoiseSchedule,
    x: Tensor,
    steps: int,
    eta: float,
    noise: NoiseFn,
    clip: bool = True,
    hook: StepHook | None = None,
) -> Tensor:
    """The named sampler (options checked by the caller: DDPM.sampler_options)."""
    if sampler == "ddpm":
        return ddpm_sample(eps_fn, schedule, x, noise, clip, hook)
    return ddim_sample(eps_fn, schedule, x, steps, noise, eta, clip, hook)
