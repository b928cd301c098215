"""The GAN LightningModule: the course's loop, `n_critic` D steps then one G step per batch.

`training_step` is the loop as the course writes it; the loss is a class of losses.py (`BCE` by
default). Around it sit, each in one place: a gradient penalty on D (`gp_weight`), spectral norm in D,
DiffAugment on every image D sees, the EMA of G, the speed switches of perf.py, NaN tracking and
logging. A generator with `num_classes` makes the GAN conditional: real labels go to D with the real
images, fakes get uniform random labels.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from hydra.utils import instantiate
from torch import Tensor, nn
from torch.nn.utils import get_total_norm

from src.core.checks import boolean, non_negative, positive, positive_int
from src.core.errors import ConfigError
from src.gan.diffaugment import DiffAugment
from src.gan.losses import get_loss, gradient_penalty
from src.gan.perf import check_speed, compile_nets, match_param_layouts, optimizer_speed
from src.gan.spectral_norm import apply_spectral_norm
from src.generative.ema import check_ema, image_decay, update_ema_
from src.generative.log_points import log_point, logging_point
from src.generative.module import GenerativeModule
from src.generative.optim import optimizer_factory

DEFAULT_EMA = {"kimg": 10.0, "rampup": 0.05}  # the half-life of G's average (src/generative/ema.py)


def grad_norm(module: nn.Module) -> Tensor:
    """L2 norm of all gradients of a module (0 when none has a gradient yet)."""
    return get_total_norm([p.grad for p in module.parameters() if p.grad is not None])


class GAN(GenerativeModule):
    """Generator + discriminator trained by alternating optimizer steps on a chosen GAN loss.

    `optimizer` is a partial optimizer config (its options without the learning rate, which is
    `lr_g` / `lr_d` times `lr_scale`); `ema` the EMA half-life `{kimg, rampup}` (null: no EMA);
    `speed` the switches of perf.py, which change how the steps run, not what they compute.
    """

    def __init__(
        self,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        loss: str = "bce",
        latent_dim: int = 100,
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
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        for value, name in ((lr_g, "lr_g"), (lr_d, "lr_d"), (lr_scale, "lr_scale")):
            positive(value, f"model.{name}")
        self.make_optimizer = optimizer_factory(optimizer, "model.lr_g and model.lr_d", betas=(0.5, 0.999))
        positive_int(n_critic, "model.n_critic")
        non_negative(gp_weight, "model.gp_weight", zero_means="no penalty")
        boolean(d_spectral_norm, "model.d_spectral_norm")
        self.ema_settings = check_ema(ema)
        self.ema_norm_samples = int((ema or {}).get("norm_samples", 0))
        self.speed = check_speed(speed)
        self.loss = get_loss(loss)
        self.augment = DiffAugment(diffaugment)

        self.save_hyperparameters(logger=False)  # train.py logs the whole config as hparams instead
        self.automatic_optimization = False
        self.generator = instantiate(generator, latent_dim=latent_dim)  # model.latent_dim: the one knob
        self.discriminator = instantiate(discriminator)
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

    # ----- the two nets as the course writes them, G(z) and D(x) (with labels y when conditional) -----

    def G(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        net = net or self.generator
        return net(z, labels) if self.conditional else net(z)

    def D(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.discriminator(x, labels) if self.conditional else self.discriminator(x)

    def random_labels(self, n: int) -> Tensor | None:
        """Uniform class labels for n fakes of a conditional GAN (None for an unconditional one)."""
        return torch.randint(0, self.num_classes, (n,), device=self.device) if self.conditional else None

    def noise(self, n: int) -> tuple[Tensor, Tensor | None]:
        """n training codes z ~ N(0, I) and their labels (the labels are drawn first)."""
        labels = self.random_labels(n)
        return torch.randn(n, self.latent_dim, device=self.device), labels

    # ----- the course's loop -----

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real, labels = batch
        if not self.conditional:
            labels = None
        if self.speed["channels_last"]:
            real = real.contiguous(memory_format=torch.channels_last)  # the layout of G and D
        opt_g, opt_d = self.optimizers()
        log_now, extra = logging_point(self, batch_idx)
        z, fake_labels = self.noise(len(real))
        fake = self.G(z, fake_labels)  # the last D step and the G step both use these fakes

        # D: real images towards "real", G's images towards "fake" (n_critic steps per batch)
        for step in range(self.hparams.n_critic):
            fake_d, labels_d = fake.detach(), fake_labels  # the fakes this D step sees
            if step < self.hparams.n_critic - 1:  # the earlier D steps get fakes of their own
                with torch.no_grad():
                    z_d, labels_d = self.noise(len(real))
                    fake_d = self.G(z_d, labels_d)
            with self.toggled_optimizer(opt_d):  # only D's weights get gradients here
                x_real, x_fake = self.augment(real), self.augment(fake_d)
                d_real, d_fake = self.D(x_real, labels), self.D(x_fake, labels_d)
                loss_d = self.loss.d(d_real, d_fake)  # BCE: BCE(D(x), 1) + BCE(D(G(z)), 0)
                if self.hparams.gp_weight > 0:  # interpolates are judged with the real labels
                    penalty = gradient_penalty(partial(self.D, labels=labels), x_real, x_fake)
                    loss_d = loss_d + self.hparams.gp_weight * penalty
                opt_d.zero_grad(set_to_none=True)
                self.manual_backward(loss_d)
                self.d_optimizer_step(opt_d)

        # G: its images towards "real", through D
        with self.toggled_optimizer(opt_g):  # only G's weights get gradients here
            loss_g = self.loss.g(self.D(self.augment(fake), fake_labels))  # BCE: BCE(D(G(z)), 1)
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(loss_g)
            opt_g.step()  # counted: one global step per batch

        self.update_ema(len(real) * self.trainer.world_size)
        loss_d, loss_g = loss_d.detach(), loss_g.detach()
        self.nonfinite.update(**{"loss/d": loss_d, "loss/g": loss_g})
        if log_now:
            self.nonfinite.check()  # the losses are copied to the host for the logger anyway
            shown = {"loss/d": loss_d, "loss/g": loss_g}  # on the progress bar too
            more = {
                **self.loss.readout(d_real.detach(), d_fake.detach()),
                "loss/g_over_d": loss_g / loss_d,
                "grad_norm/g": grad_norm(self.generator),  # G's step's gradients ...
                "grad_norm/d": grad_norm(self.discriminator),  # ... and D's last step's
                "lr/g": opt_g.param_groups[0]["lr"],
                "lr/d": opt_d.param_groups[0]["lr"],
            }
            if self.hparams.gp_weight > 0:
                more["loss/gp"] = penalty.detach()
            log_point(self, extra, shown, more, batch_size=len(real))

    def d_optimizer_step(self, opt: Any) -> None:
        """D's update, not counted as a step: a step is one batch. Kept: LightningOptimizer.step()
        counts every step in global_step, so a batch would count n_critic + 1 and max_steps, logging
        and checkpoints would not count batches (tests/run/test_lightning_overrides.py); the strategy's
        public optimizer_step keeps the precision plugin and gradient scaler without the count."""
        self.trainer.strategy.optimizer_step(opt.optimizer, closure=lambda: None)

    # ----- around the loop -----

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
        if self.speed["compile"]:
            device = self.trainer.strategy.root_device
            compile_nets([self.generator, self.discriminator], self.speed["compile_mode"], device)

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

    # ----- the generative interface: a code is z, G (or its EMA) makes the image in one pass -----

    code_shape = property(lambda self: (self.latent_dim,))
    raw_net = property(lambda self: self.generator)
    ema_net = property(lambda self: self.generator_ema)

    def decode(self, net: nn.Module, z: Tensor, labels: Tensor | None, seed: int, start: int) -> Tensor:
        return self.G(z, labels, net)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.G(z, labels if labels is not None else self.random_labels(len(z)))
