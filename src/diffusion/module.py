"""The diffusion LightningModule: DDPM (Ho et al. 2020), eps-prediction with the MSE loss.

One optimizer (Adam, linear warm-up, gradient clipping), so Lightning's automatic optimization runs
the step; a step is one batch, as for the GANs. Each step draws t uniformly in 0..T-1 and noise
eps ~ N(0, I) per image, forms x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps and regresses eps.
An EMA of the U-Net's weights (decay 0.9999 per step in the paper) makes the samples.

It offers the GAN's sampling interface, `sample(n, seed, labels, ema, eval_mode, start)`, so sample
grids, FID/KID, the classifier metrics, `src.generate` and `src.evaluate` need no change; the sampler
(`ddpm`: ancestral, T steps; `ddim`: any number of steps, `eta`) comes from the model's config or
the caller. x_T of sample i is `index_normal(seed, i)` (as a GAN's code) and the ancestral noise of
sample i comes from a generator of its own, so sample i depends only on (seed, i) for every sampler.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import Tensor

from src.diffusion.samplers import SAMPLERS, NoiseFn, StepHook, check_sampler, run_sampler
from src.diffusion.schedule import NoiseSchedule, make_betas
from src.utils.checks import boolean, in_range, non_negative, one_of, positive
from src.utils.ema import update_ema_
from src.utils.errors import ConfigError
from src.utils.log_points import extra_point, lightning_writes, write_now
from src.utils.modules import record_module_class
from src.utils.nonfinite import NonFiniteError, NonFiniteTracker, first_nonfinite_parameter
from src.utils.sampling import chunk_seed, index_normal

NOISE_STREAM = "diffusion-noise"
EMA_WARMUP_OFFSET = 10  # with ema_warmup the decay is min(ema_decay, (1 + step) / (10 + step))


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


class DDPM(L.LightningModule):
    """A U-Net noise predictor trained on the DDPM objective; samples by DDPM or DDIM."""

    conditional = False  # the interface of a GAN: DDPM here is unconditional
    num_classes = 0

    def __init__(
        self,
        unet: dict[str, Any],
        timesteps: int = 1000,
        schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        lr: float = 2e-4,
        betas: Sequence[float] = (0.9, 0.999),
        weight_decay: float = 0.0,
        warmup_steps: int = 5000,
        grad_clip: float = 1.0,
        ema_decay: float | None = 0.9999,
        ema_warmup: bool = True,
        sampler: str = "ddim",
        sample_steps: int = 50,
        eta: float = 0.0,
        clip_denoised: bool = True,
        **not_ddpm: Any,
    ):
        super().__init__()
        if not_ddpm:  # e.g. loss=hinge: the loss group's keys are the GANs'
            key = sorted(not_ddpm)[0]
            hint = " (the loss group applies to GANs only: drop loss=...)" if "loss" in not_ddpm else ""
            raise ConfigError(f"model.{key}={not_ddpm[key]!r} is not a DDPM setting{hint}")
        self.schedule = NoiseSchedule(make_betas(schedule, timesteps, beta_start, beta_end))
        positive(lr, "model.lr")
        betas = list(betas)
        if len(betas) != 2:
            raise ConfigError(f"model.betas={betas!r} is not allowed: use two numbers in [0, 1)")
        for b in betas:
            in_range(b, "model.betas", 0.0, 1.0)
        non_negative(weight_decay, "model.weight_decay")
        if not (isinstance(warmup_steps, int) and not isinstance(warmup_steps, bool) and warmup_steps >= 0):
            raise ConfigError(f"model.warmup_steps={warmup_steps!r} is not allowed: use a whole number >= 0")
        non_negative(grad_clip, "model.grad_clip", zero_means="no clipping")
        if ema_decay is not None:
            in_range(ema_decay, "model.ema_decay", 0.0, 1.0)
        boolean(ema_warmup, "model.ema_warmup")
        boolean(clip_denoised, "model.clip_denoised")
        one_of(sampler, "model.sampler", SAMPLERS)
        check_sampler(
            sampler, timesteps if sampler == "ddpm" else sample_steps, eta, timesteps, prefix="model."
        )
        if sampler == "ddim" and sample_steps > timesteps:  # checked above; named by its own key here
            raise ConfigError(f"model.sample_steps={sample_steps} is not allowed: use 1..{timesteps}")
        self.save_hyperparameters(logger=False)  # train.py logs the whole config as hparams instead
        self.unet = instantiate(unet)
        self.image_shape = (int(self.unet.channels), int(self.unet.resolution), int(self.unet.resolution))
        self.unet_ema = copy.deepcopy(self.unet).requires_grad_(False) if ema_decay else None
        self.nonfinite = NonFiniteTracker()

    # ----- sampling: the interface that grids, metrics, generate and evaluate use -----

    @property
    def generator_ema(self) -> torch.nn.Module | None:
        """The averaged net (the name the GAN interface uses)."""
        return self.unet_ema

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
        one_of(sampler, "sampler", SAMPLERS)
        T = self.schedule.timesteps
        if steps is None:
            steps = T if sampler == "ddpm" else min(self.hparams.sample_steps, T)
        eta = eta if eta is not None else self.hparams.eta
        check_sampler(sampler, steps, eta, T)
        return {"sampler": sampler, "steps": steps, "eta": float(eta)}

    def latent_codes(self, n: int, seed: int = 0, start: int = 0) -> Tensor:
        """x_T of samples start .. start + n - 1 for `seed`, on the module's device."""
        return index_normal(seed, start, n, self.image_shape).to(self.device)

    @torch.no_grad()
    def generate(
        self,
        z: Tensor,
        labels: Tensor | int | None = None,
        ema: bool = True,
        eval_mode: bool = True,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
        seed: int = 0,
        start: int = 0,
        hook: StepHook | None = None,
    ) -> Tensor:
        """Images in [-1, 1] from x_T = z [N, C, H, W]; per-step noise from (seed, start + i)."""
        if labels is not None:
            raise ValueError("labels were given but this diffusion model is not class-conditional")
        options = self.sampler_options(sampler, steps, eta)
        net = self.unet_ema if ema and self.unet_ema is not None else self.unet
        was_training = net.training
        net.train(not eval_mode)
        try:
            z = z.to(self.device)
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
        finally:
            net.train(was_training)

    def sample(
        self,
        n: int,
        seed: int = 0,
        labels: Tensor | int | None = None,
        ema: bool = True,
        eval_mode: bool = True,
        start: int = 0,
        sampler: str | None = None,
        steps: int | None = None,
        eta: float | None = None,
    ) -> Tensor:
        """Images [n, C, H, W] in [-1, 1] of samples start .. start + n - 1 of `seed` (see module doc)."""
        z = self.latent_codes(n, seed, start)
        return self.generate(z, labels, ema, eval_mode, sampler, steps, eta, seed=seed, start=start)

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

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        return self.unet(x, t)

    def diffusion_loss(self, x0: Tensor) -> Tensor:
        """The simple DDPM loss: MSE between eps and eps_theta(x_t, t), t uniform, one draw per image."""
        t = torch.randint(0, self.schedule.timesteps, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        return F.mse_loss(self.unet(self.schedule.q_sample(x0, t, noise), t), noise)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, _ = batch
        loss = self.diffusion_loss(images)
        self.nonfinite.update(**{"loss/mse": loss})
        step = self.global_step  # the step Lightning's logger gives this batch
        lightning_logs = lightning_writes(self.trainer, step)
        extra = not lightning_logs and extra_point(self.trainer, step, batch_idx)
        if lightning_logs or extra:
            self.nonfinite.check()  # the loss is copied to the host for the logger anyway
            lr = self.trainer.optimizers[0].param_groups[0]["lr"]
            metrics = {"loss/mse": loss.detach(), "lr": lr}
            self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=len(images), prog_bar=True)
            if extra:
                write_now(self, metrics, step)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        opt = torch.optim.Adam(
            self.unet.parameters(), lr=hp.lr, betas=tuple(hp.betas), weight_decay=hp.weight_decay
        )
        warmup = hp.warmup_steps

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

    def ema_decay_at(self, step: int) -> float:
        decay = self.hparams.ema_decay
        if self.hparams.ema_warmup:
            decay = min(decay, (1 + step) / (EMA_WARMUP_OFFSET + step))
        return decay

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Adam's step, then one EMA step (host numbers only). Here rather than in a batch-end hook:
        callbacks' batch-end hooks (LastCheckpoint's save) run before the module's."""
        super().optimizer_step(*args, **kwargs)
        if self.unet_ema is not None:
            update_ema_(self.unet_ema, self.unet, self.ema_decay_at(self.global_step + 1))

    def on_train_start(self) -> None:
        self.nonfinite.start(self.global_step, self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Name the class (src.generate and src.evaluate load it as such); refuse non-finite weights."""
        record_module_class(checkpoint, self)
        self.nonfinite.check()
        bad = first_nonfinite_parameter(self)
        if bad is not None:
            raise NonFiniteError(f"step {self.global_step}: {bad} holds NaN or Inf")
