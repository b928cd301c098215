"""The GAN LightningModule: manual optimization, n_critic D steps then one G step per batch.

A "step" in ganlab is one batch. Lightning counts every optimizer.step() in `global_step` under
manual optimization, which would make a D+G batch count as 2 (or n_critic + 1); only the
generator's optimizer is counted here, so `global_step`, `trainer.max_steps`, checkpoint names and
TensorBoard's x-axis all count batches.

One module serves the whole GAN family: the nets come from config (MLP, DCGAN, class-conditional
DCGAN), the loss by name (src/losses.py), and three optional additions to the discriminator:
a gradient penalty (`gp_weight` > 0), spectral normalisation (`d_spectral_norm`) and DiffAugment
(`diffaugment`, applied to every image D sees). A generator with `num_classes` makes the module
conditional: real labels go to D with the real images, fake labels are drawn uniformly.
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

from src.augment import DiffAugment
from src.losses import get_loss, gradient_penalty
from src.models.spectral_norm import apply_spectral_norm
from src.perf import adam_options, compile_modules, match_param_layouts, to_channels_last
from src.utils.errors import ConfigError


def _do_nothing() -> None:
    return None


def grad_norm(module: torch.nn.Module) -> Tensor:
    """L2 norm of all gradients of a module (0 when none has a gradient yet)."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


class GAN(L.LightningModule):
    """Generator + discriminator trained by alternating Adam steps on a chosen GAN loss.

    `channels_last`, `fused_adam` and `compile` change how the steps run, not what they compute
    (see src/perf.py); all are off by default and on in conf/perf/fast.yaml.
    """

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        latent_dim: int = 100,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: Sequence[float] = (0.5, 0.999),
        n_critic: int = 1,
        loss: str = "bce",
        gp_weight: float = 0.0,
        d_spectral_norm: bool = False,
        diffaugment: str | None = None,
        ema_decay: float | None = 0.999,
        ema_start_step: int = 1000,
        channels_last: bool = False,
        fused_adam: bool = False,
        compile: bool = False,
        compile_mode: str = "default",
    ):
        super().__init__()
        self.save_hyperparameters(logger=False)  # train.py logs the whole config as hparams instead
        self.automatic_optimization = False
        self.generator = instantiate(generator)
        self.discriminator = instantiate(discriminator)
        if d_spectral_norm:
            apply_spectral_norm(self.discriminator)
        self.d_loss, self.g_loss = get_loss(loss)
        self.augment = DiffAugment(diffaugment)
        self.num_classes = int(getattr(self.generator, "num_classes", 0) or 0)
        d_classes = int(getattr(self.discriminator, "num_classes", 0) or 0)
        if self.num_classes != d_classes:
            raise ConfigError(
                f"model.generator.num_classes={self.num_classes} but model.discriminator.num_classes="
                f"{d_classes}: use conditional G and D with the same number of classes, or neither"
            )
        # Exponential moving average of G's weights (Karras et al.): smoother samples, better FID.
        # A module attribute, so checkpoints, DDP and device moves carry it; it has no gradients.
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema_decay else None
        # what training_step calls for G and D: compiled callables when model.compile is on, kept in a
        # plain dict so they are not registered as submodules (state_dict keys stay generator.*)
        self._nets: dict[str, Callable[..., Tensor]] = {}

    @property
    def conditional(self) -> bool:
        """True when G and D take class labels (G was built with `num_classes`)."""
        return self.num_classes > 0

    @property
    def sampling_generator(self) -> torch.nn.Module:
        """The generator that samples and metrics use: the EMA one when EMA is on."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.randn(n, self.hparams.latent_dim, device=self.device, generator=generator)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> Tensor | None:
        """Uniform class labels for n fakes (None for an unconditional model)."""
        if not self.conditional:
            return None
        return torch.randint(0, self.num_classes, (n,), device=self.device, generator=generator)

    def _net(self, name: str) -> Callable[..., Tensor]:
        return self._nets[name] if name in self._nets else getattr(self, name)

    def _g(self, z: Tensor, labels: Tensor | None, net: Callable[..., Tensor] | None = None) -> Tensor:
        net = net or self._net("generator")
        return net(z, labels) if self.conditional else net(z)

    def _d(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        net = self._net("discriminator")
        return net(x, labels) if self.conditional else net(x)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self._g(z, labels if labels is not None else self.sample_labels(z.shape[0]))

    @torch.no_grad()
    def generate(
        self, z: Tensor, labels: Tensor | int | None = None, ema: bool = True, eval_mode: bool = True
    ) -> Tensor:
        """Images in [-1, 1] from latent codes z [N, latent_dim], by the EMA (or raw) generator in eval
        mode (or train mode with eval_mode=False).

        For a conditional model `labels` is a class index or one per code ([N]); without labels,
        classes are drawn uniformly. An unconditional model refuses labels rather than ignore them.
        """
        z = z.to(self.device)
        if labels is None:
            labels = self.sample_labels(z.shape[0])
        elif not self.conditional:
            raise ValueError("labels were given but this GAN is not class-conditional")
        else:
            labels = torch.as_tensor(labels, device=self.device, dtype=torch.long).expand(z.shape[0])
            if labels.min() < 0 or labels.max() >= self.num_classes:
                raise ValueError(f"labels must lie in [0, {self.num_classes - 1}]")
        net = self.sampling_generator if ema else self.generator
        was_training = net.training
        net.train(not eval_mode)
        images = self._g(z, labels, net)
        net.train(was_training)
        return images

    def sample_images(
        self, n: int, rng: torch.Generator | None = None, ema: bool = True, labels: Tensor | int | None = None
    ) -> Tensor:
        """n images from fresh latent codes (and uniform classes unless `labels` is given)."""
        z = self.sample_latent(n, rng)
        if labels is None and self.conditional:
            labels = self.sample_labels(n, rng)
        return self.generate(z, labels, ema=ema)

    @torch.no_grad()
    def update_ema(self) -> None:
        """ema <- ema + (1 - decay) (G - ema) for weights; buffers (BatchNorm statistics) copied.

        Before `ema_start_step` the average is a plain copy, so early random weights are forgotten.
        """
        if self.generator_ema is None:
            return
        decay = self.hparams.ema_decay if self.global_step >= self.hparams.ema_start_step else 0.0
        torch._foreach_lerp_(
            list(self.generator_ema.parameters()), list(self.generator.parameters()), 1.0 - decay
        )
        buffers = list(self.generator_ema.buffers())
        if buffers:  # an MLP generator has none
            torch._foreach_copy_(buffers, list(self.generator.buffers()))

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

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = tuple(self.hparams.betas)
        options = adam_options(self.hparams.fused_adam, self.device)
        opt_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_g, betas=betas, **options)
        opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=self.hparams.lr_d, betas=betas, **options
        )
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

    def _is_log_step(self) -> bool:
        """Decided on host integers alone, matching when Lightning writes to the logger."""
        every = self.trainer.log_every_n_steps
        return every > 0 and (self.global_step + 1) % every == 0

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real, real_labels = batch
        if self.hparams.channels_last:
            real = to_channels_last(real)
        if not self.conditional:
            real_labels = None
        n = real.shape[0]
        opt_g, opt_d = self.optimizers()
        opt_d._on_before_step = opt_d._on_after_step = _do_nothing  # D steps don't count (see module doc)
        log_now = self._is_log_step()

        fake_labels = self.sample_labels(n)
        fake = self._g(self.sample_latent(n), fake_labels)  # reused by the last D step and the G step
        for critic_step in range(self.hparams.n_critic):
            if critic_step < self.hparams.n_critic - 1:
                d_labels = self.sample_labels(n)
                with torch.no_grad():
                    d_input = self._g(self.sample_latent(n), d_labels)
            else:
                d_input, d_labels = fake.detach(), fake_labels
            loss_d, d_real, d_fake = self._discriminator_step(
                opt_d, real, d_input, log_now, real_labels=real_labels, fake_labels=d_labels
            )

        loss_g = self._generator_step(opt_g, fake, log_now, labels=fake_labels)
        self.update_ema()

        if log_now:
            metrics = {
                "loss/d": loss_d,
                "loss/g": loss_g,
                "loss/g_over_d": loss_g / loss_d,
                "D(x)": torch.sigmoid(d_real).mean(),
                "D(G(z))": torch.sigmoid(d_fake).mean(),
                "grad_norm/g": self._grad_norm_g,
                "grad_norm/d": self._grad_norm_d,
                "lr/g": opt_g.param_groups[0]["lr"],
                "lr/d": opt_d.param_groups[0]["lr"],
            }
            if self.hparams.gp_weight > 0:
                metrics["loss/gp"] = self._gradient_penalty
            self.log_dict(metrics, on_step=True, on_epoch=False, batch_size=n)

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
        opt.step()
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
        opt.step()
        self.untoggle_optimizer(opt)
        return loss.detach()
