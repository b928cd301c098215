"""Log the classifier-based metrics of a GAN every few epochs (off unless `ckpt_path` is set).

Real features come once from a fixed, seeded sample of the training images; generated images from
fixed latent codes (and, for a conditional GAN, labels cycling through the classes), so that the
numbers of successive epochs differ only because G changed.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch import Tensor

from src.data.base import to_model_range
from src.metrics.classifier_metrics import ClassifierMetrics, load_classifier
from src.utils.errors import ConfigError


class ClassifierMetricsCallback(L.Callback):
    """Logs metrics/fid_cnn, metrics/class_entropy, metrics/class_acc (conditional G), a class histogram."""

    def __init__(
        self,
        ckpt_path: str | None = None,
        every_n_epochs: int = 1,
        num_samples: int = 5000,
        batch_size: int = 500,
        seed: int = 4321,
        eval_mode: bool = True,
    ):
        self.ckpt_path, self.every_n_epochs = ckpt_path, every_n_epochs
        self.num_samples, self.batch_size, self.seed, self.eval_mode = (
            num_samples,
            batch_size,
            seed,
            eval_mode,
        )
        self.metrics: ClassifierMetrics | None = None
        self.last: dict[str, float] = {}

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.ckpt_path or not trainer.is_global_zero:
            return
        classifier = load_classifier(self.ckpt_path, pl_module.device)
        images = trainer.datamodule.images
        net = classifier.hparams.net
        expected = (net.get("channels", 3), net.get("resolution", 32), net.get("resolution", 32))
        if tuple(images.shape[1:]) != expected:
            raise ConfigError(
                f"callbacks.classifier_metrics.ckpt_path={self.ckpt_path!r} was trained on images "
                f"{expected}, not {tuple(images.shape[1:])}: use a classifier trained at data.resolution"
            )
        generator = torch.Generator().manual_seed(self.seed)
        pick = torch.randperm(len(images), generator=generator)[: self.num_samples].to(images.device)
        real = to_model_range(images[pick], hflip=False)
        self.metrics = ClassifierMetrics(classifier, real, self.batch_size)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.metrics is None or (trainer.current_epoch + 1) % self.every_n_epochs:
            return
        images, labels = self.generate(pl_module)
        self.last, histogram = self.metrics(images, labels)
        pl_module.log_dict(
            {f"metrics/{k}": v for k, v in self.last.items()},
            on_epoch=True,
            on_step=False,
            rank_zero_only=True,
        )
        self._log_histogram(trainer, histogram)

    def _log_histogram(self, trainer: L.Trainer, histogram: Tensor) -> None:
        """The predicted classes as a TensorBoard histogram, one bin per class."""
        counts = (histogram * self.num_samples).round().long()
        classes = torch.repeat_interleave(torch.arange(len(counts)), counts)
        bins = np.arange(len(counts) + 1) - 0.5
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_histogram"):
                experiment.add_histogram("metrics/class_histogram", classes, trainer.global_step, bins=bins)

    @torch.no_grad()
    def generate(self, pl_module: L.LightningModule) -> tuple[Tensor, Tensor | None]:
        """num_samples images from fixed codes; balanced labels (i mod classes) for a conditional G."""
        generator = torch.Generator().manual_seed(self.seed)
        z = torch.randn(self.num_samples, pl_module.hparams.latent_dim, generator=generator)
        labels = None
        if getattr(pl_module, "conditional", False):
            labels = torch.arange(self.num_samples) % pl_module.num_classes
        was_training = pl_module.generator.training
        pl_module.generator.train(not self.eval_mode)
        chunks = []
        for start in range(0, self.num_samples, self.batch_size):
            part = None if labels is None else labels[start : start + self.batch_size]
            chunks.append(pl_module.generate(z[start : start + self.batch_size], part))
        pl_module.generator.train(was_training)
        return torch.cat(chunks), labels
