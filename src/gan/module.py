"""The GAN LightningModule: manual optimization, n_critic D steps then one G step per batch.

One module serves the whole GAN family: the nets come from config (MLP, DCGAN, class-conditional
DCGAN, ResNets), the loss by name (losses.py), and three optional additions to the discriminator: a
gradient penalty (`gp_weight` > 0), spectral normalisation (`d_spectral_norm`) and DiffAugment
(`diffaugment`, applied to every image D sees). A generator with `num_classes` makes the module
conditional: real labels go to D with the real images, fake labels are drawn uniformly. Sampling,
EMA choice, checkpoint guards: the interface of src/generative/module.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from hydra.utils import instantiate
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor, nn
from torch.nn.utils import get_total_norm

from src.core.checks import boolean, non_negative, positive, positive_int
from src.core.errors import ConfigError
from src.gan.diffaugment import DiffAugment
from src.gan.losses import get_loss, gradient_penalty
from src.gan.perf import check_speed, compile_modules, match_param_layouts, optimizer_speed
from src.gan.spectral_norm import apply_spectral_norm
from src.generative.ema import check_ema, image_decay, update_ema_
from src.generative.log_points import log_point, logging_point
from src.generative.module import GenerativeModule
from src.generative.optim import optimizer_factory

DEFAULT_EMA = {"kimg": 10.0, "rampup": 0.05}  # the half-life of G's average (src/generative/ema.py)


def grad_norm(module: torch.nn.Module) -> Tensor:
    """L2 norm of all gradients of a module (0 when none has a gradient yet)."""
    return get_total_norm([p.grad for p in module.parameters() if p.grad is not None])


class GAN(GenerativeModule):
    """Generator + discriminator trained by alternating optimizer steps on a chosen GAN loss.

    `optimizer` is a partial optimizer config (`_target_`, `_partial_: true` and its options except
    the learning rate, which is `lr_g` / `lr_d` times `lr_scale`); `ema` the EMA half-life
    `{kimg, rampup}` (null: no EMA); `speed` the switches of perf.py, which change how the steps run,
    not what they compute (all off by default, on in conf/perf/fast.yaml).
    """

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        loss: str = "bce",
        latent_dim: int | None = None,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        lr_scale: float = 1.0,
        optimizer: Mapping[str, Any] | None = None,
        n_critic: int = 1,
        gp_weight: float = 0.0,
        d_spectral_norm: bool = False,
        diffaugment: str | None = None,
        ema: Mapping[str, Any] | None = DEFAULT_EMA,
        speed: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        if latent_dim is not None:
            positive_int(latent_dim, "model.latent_dim")
        for value, name in ((lr_g, "lr_g"), (lr_d, "lr_d"), (lr_scale, "lr_scale")):
            positive(value, f"model.{name}")
        self.make_optimizer = optimizer_factory(optimizer, "model.lr_g and model.lr_d", betas=(0.5, 0.999))
        positive_int(n_critic, "model.n_critic")
        non_negative(gp_weight, "model.gp_weight", zero_means="no penalty")
        boolean(d_spectral_norm, "model.d_spectral_norm")
        self.ema_settings = check_ema(ema)
        self.speed = check_speed(speed)
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
        # the average of G's weights: a module attribute, so checkpoints, DDP and device moves carry it
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema else None
        # what training_step calls for G and D: compiled callables when speed.compile is on, kept in a
        # plain dict so they are not registered as submodules (state_dict keys stay generator.*)
        self._nets: dict[str, Callable[..., Tensor]] = {}

    # ----- the generative interface: a code is z, G (or its EMA) makes the image in one pass -----

    code_shape = property(lambda self: (self.latent_dim,))
    raw_net = property(lambda self: self.generator)
    ema_net = property(lambda self: self.generator_ema)

    def decode(self, net: nn.Module, z: Tensor, labels: Tensor | None, seed: int, start: int) -> Tensor:
        return self._g(z, labels, net)

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
        decay = image_decay(seen, batch_images, self.ema_settings["kimg"], self.ema_settings.get("rampup"))
        update_ema_(self.generator_ema, self.generator, decay)

    def configure_model(self) -> None:
        """Memory layout and compilation of G and D; Lightning calls this before moving them to the
        device (`.to(device)` keeps the channels_last layout) and before restoring a checkpoint."""
        if self.speed["channels_last"]:
            for net in (self.generator, self.discriminator, self.generator_ema):
                if net is not None:
                    net.to(memory_format=torch.channels_last)
        if self.speed["compile"] and not self._nets:
            nets = {"generator": self.generator, "discriminator": self.discriminator}
            self._nets = compile_modules(nets, self.speed["compile_mode"], self.trainer.strategy.root_device)

    @property
    def learning_rates(self) -> tuple[float, float]:
        """(G's, D's) learning rate: the configured rates times `lr_scale`."""
        scale = self.hparams.lr_scale
        return self.hparams.lr_g * scale, self.hparams.lr_d * scale

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        speed = optimizer_speed(self.make_optimizer, self.speed["fused_adam"], self.device)
        lr_g, lr_d = self.learning_rates
        opt_g = self.make_optimizer(self.generator.parameters(), lr=lr_g, **speed)
        opt_d = self.make_optimizer(self.discriminator.parameters(), lr=lr_d, **speed)
        if self.speed["channels_last"]:
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

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real, real_labels = batch
        if self.speed["channels_last"]:
            real = real.contiguous(memory_format=torch.channels_last)  # the layout of G and D
        if not self.conditional:
            real_labels = None
        n = real.shape[0]
        opt_g, opt_d = self.optimizers()
        log_now, extra = logging_point(self, batch_idx)

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
            shown = {
                "loss/d": loss_d,
                "loss/g": loss_g,
                "D(x)": torch.sigmoid(d_real).mean(),
                "D(G(z))": torch.sigmoid(d_fake).mean(),
            }
            more = {
                "loss/g_over_d": loss_g / loss_d,
                "grad_norm/g": self._grad_norm_g,
                "grad_norm/d": self._grad_norm_d,
                "lr/g": opt_g.param_groups[0]["lr"],
                "lr/d": opt_d.param_groups[0]["lr"],
            }
            if self.hparams.gp_weight > 0:
                more["loss/gp"] = self._gradient_penalty
            log_point(self, extra, shown, more, batch_size=n)

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
        # Kept: LightningOptimizer.step() counts every step in global_step, so a batch would count
        # n_critic + 1 and max_steps, logging and checkpoints would not count batches
        # (tests/run/test_lightning_overrides.py); the strategy's public optimizer_step keeps the
        # precision plugin and gradient scaler without the count.
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
