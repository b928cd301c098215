"""The interface every generative model of ganlab offers, written once: `GenerativeModule`.

Sample grids, FID/KID, the classifier metrics, `src.generate` and `src.evaluate` call only these
methods, so a new model family subclasses it, says how a code becomes an image (`decode`) and which
nets make samples (`raw_net`, `ema_net`), and needs no change anywhere else. The base owns:

- sampling by index: sample i of a seed comes from a code (and label) that depends only on (seed, i)
  (noise.py), so any batch size, device or command draws the same image;
- the choice of the weight average (EMA) or the trained net, and the eval-mode toggle around it;
- labels of a class-conditional model: a class index or one per sample, checked, or uniform by index;
- checkpoints: each names its class (checkpoint.py) and holds finite weights only (nonfinite.py);
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from src.core.errors import ConfigError
from src.generative.checkpoint import record_module_class
from src.generative.ema import measure_norms_
from src.generative.noise import index_normal, index_randint
from src.generative.nonfinite import NonFiniteError, NonFiniteTracker, first_nonfinite_parameter

SAMPLER_KEYS = ("sampler", "steps", "eta")  # options commands may give `sampler_options` (null: omitted)
NORM_SEED, NORM_BATCH = 7919, 256  # the codes the EMA net's BatchNorm statistics are measured on


class GenerativeModule(L.LightningModule):
    """A LightningModule that makes images in [-1, 1] from per-index codes (see module doc).

    A family sets `num_classes` (> 0: class-conditional) and provides `code_shape` (one sample's code:
    (latent_dim,) for a GAN, the image shape of x_T for DDPM), `raw_net` (the trained net that makes
    samples), `ema_net` (its weight average, or None) and `decode`."""

    num_classes: int = 0
    ema_norm_samples = 0  # > 0: the EMA net's BatchNorm statistics are measured on its own (ema.py)
    kind = "generative model's (GAN or DDPM)"
    checkpoint_use = "python -m src.generate or src.evaluate (ckpt_path=...), or resume=<its run folder>"
    code_shape: tuple[int, ...]
    raw_net: nn.Module
    ema_net: nn.Module | None

    def __init__(self) -> None:
        super().__init__()
        self.nonfinite = NonFiniteTracker()  # NaN/Inf losses, flagged on the device (no per-step sync)
        self._norms_measured_at: int | None = None  # the step the EMA net's statistics are of

    def decode(self, net: nn.Module, z: Tensor, labels: Tensor | None, seed: int, start: int, **options: Any):
        """Images of codes z (on the device) by `net`; `seed`/`start` number the samples (per-step noise)."""
        raise NotImplementedError

    def sampler_options(self, **given: Any) -> dict[str, Any]:
        """Complete and check the sampler options a command gives (`sampler`, `steps`, `eta`); a family
        without choices refuses them rather than ignore them."""
        if given:
            key, value = next(iter(given.items()))
            raise ConfigError(
                f"{key}={value!r} is not allowed for this {type(self).__name__} checkpoint: it has no "
                "sampler options (sampler, steps and eta apply to diffusion checkpoints; drop them)"
            )
        return {}

    @property
    def timed_samplers(self) -> dict[str, dict[str, Any]]:
        """Sampler options whose time per image is worth logging, by name ("": one pass)."""
        return {"": {}}

    def trajectory(self, n: int, seed: int = 0, frames: int = 10, ema: bool = True) -> Tensor | None:
        """[frames + 1, n, C, H, W] from code to image, for a family with intermediate steps; else None."""
        return None

    # ----- sampling: the interface grids, metrics, generate and evaluate use -----

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def has_ema(self) -> bool:
        return self.ema_net is not None

    def sampling_net(self, ema: bool = True) -> nn.Module:
        """The weight average when asked for and kept, else the trained net."""
        return self.ema_net if ema and self.ema_net is not None else self.raw_net

    def measure_ema_norms(self) -> None:
        """The EMA net's BatchNorm statistics, measured on its own activations for `ema_norm_samples`
        fixed codes (once per training step: the average moves every step)."""
        if self.ema_norm_samples and self._norms_measured_at != self.global_step:

            def forward(start: int, count: int) -> object:
                z = self.latent_codes(count, NORM_SEED, start)
                return self.decode(
                    self.ema_net, z, self.labels_for(None, count, NORM_SEED, start), NORM_SEED, start
                )

            measure_norms_(self.ema_net, forward, self.ema_norm_samples, NORM_BATCH)
            self._norms_measured_at = self.global_step

    def latent_codes(self, n: int, seed: int = 0, start: int = 0) -> Tensor:
        """The codes of samples start .. start + n - 1 for `seed`, on the module's device."""
        return index_normal(seed, start, n, self.code_shape).to(self.device)

    def labels_for(self, labels: Tensor | int | None, n: int, seed: int = 0, start: int = 0) -> Tensor | None:
        """n labels on the device: the given class or per-sample labels, checked; uniform by index if None."""
        if labels is None:
            return (
                index_randint(seed, start, n, self.num_classes).to(self.device) if self.conditional else None
            )
        if not self.conditional:
            raise ValueError(f"labels were given but this {type(self).__name__} is not class-conditional")
        labels = torch.as_tensor(labels, device=self.device, dtype=torch.long).expand(n)
        if labels.min() < 0 or labels.max() >= self.num_classes:
            raise ValueError(f"labels must lie in [0, {self.num_classes - 1}]")
        return labels

    @torch.no_grad()
    def generate(
        self,
        z: Tensor,
        labels: Tensor | int | None = None,
        ema: bool = True,
        eval_mode: bool = True,
        seed: int = 0,
        start: int = 0,
        **options: Any,
    ) -> Tensor:
        """Images in [-1, 1] of codes z by the EMA (or raw) net in eval (or train) mode; the net's
        mode is restored afterwards. `labels` as in `sample`."""
        labels = self.labels_for(labels, z.shape[0], seed, start)
        net = self.sampling_net(ema)
        if net is self.ema_net and eval_mode:
            self.measure_ema_norms()
        was_training = net.training
        net.train(not eval_mode)
        try:
            return self.decode(net, z.to(self.device), labels, seed, start, **options)
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
        **options: Any,
    ) -> Tensor:
        """Images [n, C, H, W] in [-1, 1] of samples start .. start + n - 1 of `seed`: sample i depends
        only on (seed, i). A conditional model takes a class or one label per sample (None: uniform,
        drawn per index too); an unconditional one refuses labels. `options`: the family's sampler's."""
        codes = self.latent_codes(n, seed, start)
        return self.generate(codes, labels, ema, eval_mode, seed, start, **options)

    # ----- training support -----

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
