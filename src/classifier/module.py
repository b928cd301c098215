"""The course's CNN classifier as a LightningModule: cross-entropy, Adam, augmentation per batch.

Trained with `python -m src.train_classifier`. Its checkpoint is what the GAN metrics load
(metrics.py): `Classifier.load_from_checkpoint(path)` rebuilds the net from
the hyper-parameters saved in it.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch import Tensor, nn
from torchmetrics.classification import MulticlassAccuracy

from src.classifier.augment import CourseAugment
from src.core.checks import non_negative, positive
from src.generative.checkpoint import record_module_class
from src.generative.log_points import log_point, logging_point


class Classifier(L.LightningModule):
    """Images in [-1, 1] -> class logits; `features` gives the penultimate activations."""

    checkpoint_use = "callbacks.classifier_metrics.ckpt_path of python -m src.train"

    def __init__(
        self,
        net: dict[str, Any],
        augment: dict[str, Any] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
    ):
        super().__init__()
        positive(lr, "classifier.lr")
        non_negative(weight_decay, "classifier.weight_decay")
        self.save_hyperparameters(logger=False)
        self.net = instantiate(net)
        self.augment = CourseAugment(**augment) if augment else nn.Identity()
        self.test_accuracy = MulticlassAccuracy(num_classes=self.net.num_classes, average="micro")

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def features(self, x: Tensor) -> Tensor:
        return self.net.features(x)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(
            self.net.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, labels = batch
        logits = self.net(self.augment(images))
        loss = F.cross_entropy(logits, labels)
        log_now, extra = logging_point(self, batch_idx)
        if log_now:
            accuracy = (logits.argmax(1) == labels).float().mean()
            log_point(
                self, extra, {"train/loss": loss.detach(), "train/acc": accuracy}, batch_size=len(labels)
            )
        return loss

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        images, labels = batch
        logits = self.net(images)
        self.test_accuracy.update(logits, labels)
        self.log("test/loss", F.cross_entropy(logits, labels), on_epoch=True, batch_size=len(labels))
        self.log("test/acc", self.test_accuracy, on_epoch=True)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        record_module_class(checkpoint, self)  # generate/evaluate/resume name it when given the wrong one
