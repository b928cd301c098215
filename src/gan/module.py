"""The GAN LightningModule: manual optimization, n_critic D steps then one G step per batch.

A "step" in ganlab is one batch. Lightning counts every LightningOptimizer.step() in `global_step`
under manual optimization, which would make a D+G batch count as 2 (or n_critic + 1); D's updates go
through the strategy's public `optimizer_step` instead (the same precision handling, no count), so
`global_step`, `trainer.max_steps`, checkpoint names and TensorBoard's x-axis all count batches.

One module serves the whole GAN family: the nets come from config (MLP, DCGAN, class-conditional
DCGAN), the loss by name (losses.py), and three optional additions to the discriminator: a gradient
penalty (`gp_weight` > 0), spectral normalisation (`d_spectral_norm`) and DiffAugment (`diffaugment`,
applied to every image D sees). A generator with `num_classes` makes the module conditional: real
labels go to D with the real images, fake labels are drawn uniformly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor

from src.gan.diffaugment import DiffAugment
from src.gan.losses import get_loss, gradient_penalty
from src.gan.perf import (
    adam_options,
    check_compile_mode,
    compile_modules,
    match_param_layouts,
    to_channels_last,
)
from src.gan.spectral_norm import apply_spectral_norm
from src.utils.checks import boolean, in_range, non_negative, positive, positive_int
from src.utils.ema import check_ema, ema_decay, update_ema_
from src.utils.errors import ConfigError
from src.utils.log_points import extra_point, lightning_writes, write_now
from src.utils.modules import record_module_class
from src.utils.nonfinite import NonFiniteError, NonFiniteTracker, first_nonfinite_parameter
from src.utils.sampling import index_normal, index_randint

SPEED_SWITCHES = ("channels_last", "fused_adam", "compile")


def grad_norm(module: torch.nn.Module) -> Tensor:
    """L2 norm of all gradients of a module (0 when none has a gradient yet)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def _check_betas(betas: Sequence[float]) -> tuple[float, float]:
    betas = list(betas)
    if len(betas) != 2:
        raise ConfigError(f"model.betas={betas!r} is not allowed: use two numbers in [0, 1)")
    return tuple(in_range(b, "model.betas", 0.0, 1.0) for b in betas)  # type: ignore[return-value]


class GAN(L.LightningModule):
    """Generator + discriminator trained by alternating Adam steps on a chosen GAN loss.

    `channels_last`, `fused_adam` and `compile` change how the steps run, not what they compute
    (see perf.py); all are off by default and on in conf/perf/fast.yaml.
    """

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        latent_dim: int | None = None,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        lr_scale: float = 1.0,
        betas: Sequence[float] = (0.5, 0.999),
        n_critic: int = 1,
        loss: str = "bce",
        gp_weight: float = 0.0,
        d_spectral_norm: bool = False,
        diffaugment: str | None = None,
        ema_kimg: float | None = 10.0,
        ema_rampup: float | None = 0.05,
        channels_last: bool = False,
        fused_adam: bool = False,
        compile: bool = False,
        compile_mode: str = "default",
    ):
        super().__init__()
        if latent_dim is not None:
            positive_int(latent_dim, "model.latent_dim")
        for value, name in ((lr_g, "lr_g"), (lr_d, "lr_d"), (lr_scale, "lr_scale")):
            positive(value, f"model.{name}")
        _check_betas(betas)
        positive_int(n_critic, "model.n_critic")
        non_negative(gp_weight, "model.gp_weight", zero_means="no penalty")
        check_ema(ema_kimg, ema_rampup)
        for switch in (*SPEED_SWITCHES, "d_spectral_norm"):
            boolean(locals()[switch], f"model.{switch}")
        check_compile_mode(compile_mode)
        self.d_loss, self.g_loss = get_loss(loss)
        self.augment = DiffAugment(diffaugment)

        self.save_hyperparameters(logger=False)  # train.py logs the whole config as hparams instead
        self.automatic_optimization = False
        self.generator = instantiate(generator)
        self.discriminator = instantiate(discriminator)
        # one source of truth: the generator's own size (model.latent_dim is the config's shorthand)
        self.latent_dim = int(self.generator.latent_dim)
        if latent_dim is not None and latent_dim != self.latent_dim:
            raise ConfigError(
                f"model.latent_dim={latent_dim} but model.generator.latent_dim={self.latent_dim}: set "
                "model.latent_dim only (the generator reads it)"
            )
        if d_spectral_norm:
            apply_spectral_norm(self.discriminator)
        self.num_classes = int(getattr(self.generator, "num_classes", 0) or 0)
        d_classes = int(getattr(self.discriminator, "num_classes", 0) or 0)
        if self.num_classes != d_classes:
            raise ConfigError(
                f"model.generator.num_classes={self.num_classes} but model.discriminator.num_classes="
                f"{d_classes}: use conditional G and D with the same number of classes, or neither"
            )
        # Exponential moving average of G's weights (ema.py): smoother samples, better FID.
        # A module attribute, so checkpoints, DDP and device moves carry it; it has no gradients.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema_kimg else None
        # what training_step calls for G and D: compiled callables when model.compile is on, kept in a
        # plain dict so they are not registered as submodules (state_dict keys stay generator.*)
        self._nets: dict[str, Callable[..., Tensor]] = {}
        self.nonfinite = NonFiniteTracker()  # NaN/Inf losses, flagged on the device (no per-step sync)

    @property
    def conditional(self) -> bool:
        """True when G and D take class labels (G was built with `num_classes`)."""
        return self.num_classes > 0

    # ----- sampling: the one interface that grids, metrics, generate and evaluate use -----

    def _labels_for(self, labels: Tensor | int | None, n: int, seed: int, start: int) -> Tensor | None:
        if labels is None:
            if not self.conditional:
                return None
            return index_randint(seed, start, n, self.num_classes).to(self.device)
        if not self.conditional:
            raise ValueError("labels were given but this GAN is not class-conditional")
        labels = torch.as_tensor(labels, device=self.device, dtype=torch.long).expand(n)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}]")
        return labels

    def latent_codes(self, n: int, seed: int = 0, start: int = 0) -> Tensor:
        """The codes of samples start .. start + n - 1 for `seed`, on the module's device."""
        return index_normal(seed, start, n, (self.latent_dim,)).to(self.device)

    @torch.no_grad()
    def generate(
        self, z: Tensor, labels: Tensor | int | None = None, ema: bool = True, eval_mode: bool = True
    ) -> Tensor:
        """Images in [-1, 1] of given codes z [N, latent_dim], by the EMA (or raw) generator in eval
        mode (or train mode with eval_mode=False). `labels` as in `sample` (None: uniform classes)."""
        labels = self._labels_for(labels, z.shape[0], seed=0, start=0)
        net = self.generator_ema if ema and self.generator_ema is not None else self.generator
        was_training = net.training
        net.train(not eval_mode)
        try:
            return self._g(z.to(self.device), labels, net)
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
    ) -> Tensor:
        """Images [n, C, H, W] in [-1, 1] of samples start .. start + n - 1 of `seed`.

        Sample i depends only on (seed, i): the same image in any batch size, on any device, in
        `src.generate` and `src.evaluate`. `labels`: a class index or one per sample for a
        conditional model (None: uniform classes, also drawn per index); an unconditional model
        refuses labels rather than ignore them.
        """
        codes = self.latent_codes(n, seed, start)
        labels = self._labels_for(labels, n, seed, start)
        return self.generate(codes, labels, ema=ema, eval_mode=eval_mode)

    # ----- training -----

    def _train_labels(self, n: int) -> Tensor | None:
        """Uniform class labels for n training fakes (None for an unconditional model)."""
        if not self.conditional:
            return None
        return torch.randint(0, self.num_classes, (n,), device=self.device)

    def _train_latent(self, n: int) -> Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def _net(self, name: str) -> Callable[..., Tensor]:
        return self._nets[name] if name in self._nets else getattr(self, name)

    def _g(self, z: Tensor, labels: Tensor | None, net: Callable[..., Tensor] | None = None) -> Tensor:
        net = net or self._net("generator")
        return net(z, labels) if self.conditional else net(z)

    def _d(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        net = self._net("discriminator")
        return net(x, labels) if self.conditional else net(x)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self._g(z, labels if labels is not None else self._train_labels(z.shape[0]))

    def update_ema(self, batch_images: int) -> None:
        """One EMA step after a batch of `batch_images` real images (all ranks together)."""
        if self.generator_ema is None:
            return
        seen = self.global_step * batch_images  # images before this step; host integers only
        decay = ema_decay(seen, batch_images, self.hparams.ema_kimg, self.hparams.ema_rampup)
        update_ema_(self.generator_ema, self.generator, decay)

    def configure_model(self) -> None:
        """Memory layout and compilation of G and D; Lightning calls this before moving them to the
        device (`.to(device)` keeps the channels_last layout) and before restoring a checkpoint."""
        if self.hparams.channels_last:
            for net in (self.generator, self.discriminator, self.generator_ema):
                if net is not None:
                    net.to(memory_format=torch.channels_last)
        if self.hparams.compile and not self._nets:
            nets = {"generator": self.generator, "discriminator": self.discriminator}
            self._nets = compile_modules(nets, self.hparams.compile_mode, self.trainer.strategy.root_device)

    @property
    def learning_rates(self) -> tuple[float, float]:
        """(G's, D's) learning rate: the configured rates times `lr_scale`."""
        scale = self.hparams.lr_scale
        return self.hparams.lr_g * scale, self.hparams.lr_d * scale

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = tuple(self.hparams.betas)
        options = adam_options(self.hparams.fused_adam, self.device)
        lr_g, lr_d = self.learning_rates
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr_g, betas=betas, **options)
        opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr_d, betas=betas, **options)
        if self.hparams.channels_last:
            for opt in (opt_g, opt_d):
                opt.register_load_state_dict_post_hook(match_param_layouts)
        return [opt_g, opt_d]

    def on_fit_start(self) -> None:
        """Refuse labels the nets cannot embed before the first step (an index error deep in autograd)."""
        data_classes = getattr(self.trainer.datamodule, "num_classes", 0)
        if self.conditional and data_classes > self.num_classes:
            raise ConfigError(
                f"model.generator.num_classes={self.num_classes} is less than the data's {data_classes} "
                f"classes: use model.generator.num_classes={data_classes}"
            )

    def on_train_start(self) -> None:
        self.nonfinite.start(self.global_step, self.device)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Name the class (generate/evaluate load it as such); refuse to write a diverged model: every
        checkpoint (last, periodic, best) is finite."""
        record_module_class(checkpoint, self)
        self.nonfinite.check()
        bad = first_nonfinite_parameter(self)
        if bad is not None:
            raise NonFiniteError(f"step {self.global_step}: {bad} holds NaN or Inf")

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real, real_labels = batch
        if self.hparams.channels_last:
            real = to_channels_last(real)
        if not self.conditional:
            real_labels = None
        n = real.shape[0]
        opt_g, opt_d = self.optimizers()
        step = self.global_step  # the step Lightning's logger gives this batch (counted before G's update)
        lightning_logs = lightning_writes(self.trainer, step)
        extra = not lightning_logs and extra_point(self.trainer, step, batch_idx)
        log_now = lightning_logs or extra

        fake_labels = self._train_labels(n)
        fake = self._g(self._train_latent(n), fake_labels)  # reused by the last D step and the G step
        for critic_step in range(self.hparams.n_critic):
            if critic_step < self.hparams.n_critic - 1:
                d_labels = self._train_labels(n)
                with torch.no_grad():
                    d_input = self._g(self._train_latent(n), d_labels)
            else:
                d_input, d_labels = fake.detach(), fake_labels
            loss_d, d_real, d_fake = self._discriminator_step(
                opt_d, real, d_input, log_now, real_labels=real_labels, fake_labels=d_labels
            )

        loss_g = self._generator_step(opt_g, fake, log_now, labels=fake_labels)
        self.update_ema(n * self.trainer.world_size)
        self.nonfinite.update(**{"loss/d": loss_d, "loss/g": loss_g})

        if log_now:
            self.nonfinite.check()  # the losses are copied to the host for the logger anyway
            shown = {  # also on the progress bar
                "loss/d": loss_d,
                "loss/g": loss_g,
                "D(x)": torch.sigmoid(d_real).mean(),
                "D(G(z))": torch.sigmoid(d_fake).mean(),
            }
            metrics = {
                "loss/g_over_d": loss_g / loss_d,
                "grad_norm/g": self._grad_norm_g,
                "grad_norm/d": self._grad_norm_d,
                "lr/g": opt_g.param_groups[0]["lr"],
                "lr/d": opt_d.param_groups[0]["lr"],
            }
            if self.hparams.gp_weight > 0:
                metrics["loss/gp"] = self._gradient_penalty
            self.log_dict(shown, on_step=True, on_epoch=False, batch_size=n, prog_bar=True)
            self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=n)
            if extra:  # Lightning writes only every log_every_n_steps: this point goes directly
                write_now(self, {**shown, **metrics}, step)

    def _discriminator_step(
        self,
        opt: LightningOptimizer,
        real: Tensor,
        fake: Tensor,
        log_now: bool,
        real_labels: Tensor | None = None,
        fake_labels: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        self.toggle_optimizer(opt)
        real, fake = self.augment(real), self.augment(fake)
        d_real = self._d(real, real_labels)
        d_fake = self._d(fake, fake_labels)
        loss = self.d_loss(d_real, d_fake)
        if self.hparams.gp_weight > 0:
            # interpolates carry the real labels: a conditional critic must be smooth for the real class
            critic = partial(self._d, labels=real_labels)
            penalty = gradient_penalty(critic, real, fake)
            loss = loss + self.hparams.gp_weight * penalty
            if log_now:
                self._gradient_penalty = penalty.detach()
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if log_now:
            self._grad_norm_d = grad_norm(self.discriminator)
        # the strategy's step (precision plugin, gradient scaler) without LightningOptimizer's count
        self.trainer.strategy.optimizer_step(opt.optimizer, closure=lambda: None)
        self.untoggle_optimizer(opt)
        return loss.detach(), d_real.detach(), d_fake.detach()

    def _generator_step(
        self, opt: LightningOptimizer, fake: Tensor, log_now: bool, labels: Tensor | None = None
    ) -> Tensor:
        self.toggle_optimizer(opt)
        loss = self.g_loss(self._d(self.augment(fake), labels))
        opt.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        if log_now:
            self._grad_norm_g = grad_norm(self.generator)
        opt.step()  # counted: one global step per batch
        self.untoggle_optimizer(opt)
        return loss.detach()
