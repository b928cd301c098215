"""The diffusion LightningModule: DDPM (Ho et al. 2020), eps-prediction with the MSE loss.

One optimizer (Adam, linear warm-up, gradient clipping), so Lightning's automatic optimization runs
the step; a step is one batch, as for the GANs. Each step draws t uniformly in 0..T-1 and noise
eps ~ N(0, I) per image, forms x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps and regresses eps.
An EMA of the U-Net's weights (decay 0.9999 per step in the paper) makes the samples.

It is a GenerativeModule (src/generative/module.py), so sample grids, FID/KID, the classifier metrics,
`src.generate` and `src.evaluate` treat it as any GAN; the sampler (`ddpm`: ancestral, T steps; `ddim`:
any number of steps, `eta`) comes from the model's config or the caller. x_T of sample i is
`index_normal(seed, i)` (as a GAN's code) and the ancestral noise of sample i comes from a generator
of its own, so sample i depends only on (seed, i) for every sampler.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import Tensor, nn

from src.core.checks import boolean, non_negative, positive, whole
from src.diffusion.samplers import NoiseFn, StepHook, check_sampler, run_sampler
from src.diffusion.schedule import NoiseSchedule, make_betas
from src.generative.ema import check_ema, step_decay, update_ema_
from src.generative.log_points import log_point, logging_point
from src.generative.module import GenerativeModule
from src.generative.noise import chunk_seed
from src.generative.optim import optimizer_factory

NOISE_STREAM = "diffusion-noise"
DEFAULT_EMA = {"decay": 0.9999, "warmup": True}  # the paper's per-step decay (src/generative/ema.py)


def index_noise(seed: int, start: int, n: int, shape: tuple[int, ...], device: torch.device) -> NoiseFn:
    """Per-step noise of samples start .. start + n - 1: sample i draws from a CPU generator of its
    own, seeded by (seed, i), one tensor per sampling step, so it never depends on the batch."""
    generators: list[torch.Generator] = []

    def noise(step: int) -> Tensor:
        if not generators:  # deterministic samplers never get here
            generators.extend(
                torch.Generator().manual_seed(chunk_seed(NOISE_STREAM, seed, start + i)) for i in range(n)
            )
        return torch.stack([torch.randn(shape, generator=g) for g in generators]).to(device)

    return noise


class DDPM(GenerativeModule):
    """A U-Net noise predictor trained on the DDPM objective; samples by DDPM or DDIM.

    `optimizer`: a partial optimizer config beside `lr` (null: Adam, betas (0.9, 0.999)); `ema`: the
    per-step decay and its warm-up `{decay, warmup}` (null: no EMA)."""

    def __init__(
        self,
        unet: dict[str, Any],
        timesteps: int = 1000,
        schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        lr: float = 2e-4,
        optimizer: Mapping[str, Any] | None = None,
        warmup_steps: int = 5000,
        grad_clip: float = 1.0,
        ema: Mapping[str, Any] | None = DEFAULT_EMA,
        sampler: str = "ddim",
        sample_steps: int = 50,
        eta: float = 0.0,
        clip_denoised: bool = True,
    ):
        super().__init__()
        self.schedule = NoiseSchedule(make_betas(schedule, timesteps, beta_start, beta_end))
        positive(lr, "model.lr")
        self.make_optimizer = optimizer_factory(optimizer, "model.lr", betas=(0.9, 0.999), weight_decay=0.0)
        whole(warmup_steps, "model.warmup_steps", low=0)
        non_negative(grad_clip, "model.grad_clip", zero_means="no clipping")
        self.ema_settings = check_ema(ema)
        boolean(clip_denoised, "model.clip_denoised")
        steps = timesteps if sampler == "ddpm" else sample_steps
        check_sampler(sampler, steps, eta, timesteps, prefix="model.", steps_key="sample_steps")
        self.save_hyperparameters(logger=False)  # train.py logs the whole config as hparams instead
        self.unet = instantiate(unet)
        self.image_shape = (int(self.unet.channels), int(self.unet.resolution), int(self.unet.resolution))
        self.unet_ema = copy.deepcopy(self.unet).requires_grad_(False) if ema else None

    # ----- the generative interface: a code is x_T, the U-Net (or its EMA) denoises it step by step -----

    code_shape = property(lambda self: self.image_shape)
    raw_net = property(lambda self: self.unet)
    ema_net = property(lambda self: self.unet_ema)

    @property
    def timed_samplers(self) -> dict[str, dict[str, Any]]:
        """The samplers whose time per image `SamplingTime` logs: DDIM 50 steps and ancestral T steps."""
        T = self.schedule.timesteps
        return {
            f"ddim{min(50, T)}": {"sampler": "ddim", "steps": min(50, T)},
            f"ddpm{T}": {"sampler": "ddpm"},
        }

    def sampler_options(
        self, sampler: str | None = None, steps: int | None = None, eta: float | None = None
    ) -> dict[str, Any]:
        """Complete options (null: the model's config; ddpm: all T steps), checked in one line."""
        sampler = sampler if sampler is not None else self.hparams.sampler
        T = self.schedule.timesteps
        if steps is None:
            steps = T if sampler == "ddpm" else min(self.hparams.sample_steps, T)
        eta = eta if eta is not None else self.hparams.eta
        check_sampler(sampler, steps, eta, T)
        return {"sampler": sampler, "steps": steps, "eta": float(eta)}

    def decode(
        self,
        net: nn.Module,
        z: Tensor,
        labels: Tensor | None,
        seed: int,
        start: int,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        hook: StepHook | None = None,
    ) -> Tensor:
        """Images from x_T = z [N, C, H, W]; per-step noise from (seed, start + i)."""
        options = self.sampler_options(sampler, steps, eta)
        noise = index_noise(seed, start, z.shape[0], self.image_shape, self.device)
        x = run_sampler(
            options["sampler"],
            net,
            self.schedule,
            z,
            options["steps"],
            options["eta"],
            noise,
            self.hparams.clip_denoised,
            hook,
        )
        return x.clamp(-1, 1)

    def trajectory(self, n: int, seed: int = 0, frames: int = 10, ema: bool = True, **options: Any) -> Tensor:
        """[frames + 1, n, C, H, W]: x_T, then x_t after `frames` evenly spaced sampling steps (x_0 last)."""
        steps = self.sampler_options(**options)["steps"]
        frames = min(frames, steps)
        keep = {round((i + 1) * steps / frames) - 1 for i in range(frames)}
        z = self.latent_codes(n, seed)
        shots = [z]

        def hook(k: int, x: Tensor) -> None:
            if k in keep:
                shots.append(x.clamp(-1, 1))

        self.generate(z, ema=ema, seed=seed, hook=hook, **options)
        return torch.stack(shots)

    # ----- training -----

    def diffusion_loss(self, x0: Tensor) -> Tensor:
        """The simple DDPM loss: MSE between eps and eps_theta(x_t, t), t uniform, one draw per image."""
        t = torch.randint(0, self.schedule.timesteps, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        return F.mse_loss(self.unet(self.schedule.q_sample(x0, t, noise), t), noise)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, _ = batch
        loss = self.diffusion_loss(images)
        self.nonfinite.update(**{"loss/mse": loss})
        log_now, extra = logging_point(self, batch_idx)
        if log_now:
            self.nonfinite.check()  # the loss is copied to the host for the logger anyway
            lr = self.trainer.optimizers[0].param_groups[0]["lr"]
            log_point(self, extra, {"loss/mse": loss.detach(), "lr": lr}, batch_size=len(images))
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        opt = self.make_optimizer(self.unet.parameters(), lr=self.hparams.lr)
        warmup = self.hparams.warmup_steps

        def factor(step: int) -> float:
            return min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0

        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def configure_gradient_clipping(
        self,
        optimizer: torch.optim.Optimizer,
        gradient_clip_val: float | None = None,
        gradient_clip_algorithm: str | None = None,
    ) -> None:
        """The model's `grad_clip` (global norm, the paper's 1.0) unless the Trainer sets its own."""
        clip = gradient_clip_val if gradient_clip_val is not None else self.hparams.grad_clip
        if clip:
            self.clip_gradients(
                optimizer, gradient_clip_val=clip, gradient_clip_algorithm=gradient_clip_algorithm or "norm"
            )

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Adam's step, then one EMA step (host numbers only). Here rather than in a batch-end hook:
        callbacks' batch-end hooks (LastCheckpoint's save) run before the module's."""
        super().optimizer_step(*args, **kwargs)
        if self.unet_ema is not None:
            ema = self.ema_settings
            update_ema_(
                self.unet_ema, self.unet, step_decay(ema["decay"], self.global_step + 1, ema["warmup"])
            )
