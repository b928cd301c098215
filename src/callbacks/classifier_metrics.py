"""Log the classifier-based metrics of a GAN every few epochs (off unless `ckpt_path` is set).

Real features come once from a fixed, seeded sample of the training images; generated images from
the model's `sample` with a fixed seed (and, for a conditional GAN, labels cycling through the
classes), so that the numbers of successive epochs differ only because G changed.
"""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch import Tensor

from src.classifier.metrics import ClassifierMetrics, load_classifier, require_checkpoint
from src.classifier.module import Classifier
from src.core.checks import positive_int
from src.core.errors import ConfigError
from src.core.pixels import to_model_range
from src.generative.checkpoint import checkpoint_class
from src.metrics.features import batch_ranges
from src.metrics.registry import score

KEY = "callbacks.classifier_metrics"


class ClassifierMetricsCallback(L.Callback):
    """Logs metrics/fid_cnn, metrics/class_entropy, metrics/class_acc (conditional G), a class histogram."""

    def __init__(
        self,
        ckpt_path: str | None = None,
        every_n_epochs: int = 1,
        num_samples: int = 5000,
        batch_size: int = 500,
        seed: int = 4321,
        ema: bool = True,
        eval_mode: bool = True,
    ):
        if ckpt_path:
            require_checkpoint(ckpt_path, f"{KEY}.ckpt_path")
            checkpoint_class(ckpt_path, f"{KEY}.ckpt_path", wanted=Classifier)  # one line for a GAN's
            for value, name in ((every_n_epochs, "every_n_epochs"), (num_samples, "num_samples")):
                positive_int(value, f"{KEY}.{name}")
            positive_int(batch_size, f"{KEY}.batch_size")
        self.ckpt_path, self.every_n_epochs = ckpt_path, every_n_epochs
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.ema, self.eval_mode = ema, eval_mode
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
                f"{KEY}.ckpt_path={self.ckpt_path!r} was trained on images {expected}, not "
                f"{tuple(images.shape[1:])}: use a classifier trained at data.resolution"
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
            {score(k): v for k, v in self.last.items()},
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

    def generate(self, pl_module: L.LightningModule) -> tuple[Tensor, Tensor | None]:
        """num_samples images of the fixed seed; balanced labels (i mod classes) for a conditional G."""
        labels = None
        if pl_module.conditional:
            labels = torch.arange(self.num_samples, device=pl_module.device) % pl_module.num_classes
        chunks = [
            pl_module.sample(
                count,
                self.seed,
                labels=None if labels is None else labels[start : start + count],
                ema=self.ema,
                eval_mode=self.eval_mode,
                start=start,
            )
            for start, count in batch_ranges(self.num_samples, self.batch_size)
        ]
        return torch.cat(chunks), labels
