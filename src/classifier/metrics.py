"""GAN metrics read off the course's CNN classifier (module.py).

- `fid_cnn`: the Fréchet distance between real and generated images in the classifier's 128-d
  penultimate feature space. Like FID but with a small CIFAR-10 network instead of Inception, so its
  numbers are only comparable with other `fid_cnn` numbers from the same classifier checkpoint.
- `class_histogram` / `class_entropy`: the share of generated images the classifier puts in each
  class, and its entropy in nats (ln 10 = 2.30 for a uniform spread over CIFAR-10). A collapsing
  generator piles its samples into a few classes, and the entropy drops.
- `class_acc` (conditional models): how often the classifier recognises the class G was asked for.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from src.classifier.module import Classifier
from src.core.checks import existing_file
from src.metrics.distances import frechet_distance, mean_and_covariance


def require_checkpoint(ckpt_path: str | Path, key: str = "callbacks.classifier_metrics.ckpt_path") -> Path:
    """The path of a classifier checkpoint, or one line naming `key` when there is no such file."""
    return existing_file(
        ckpt_path, key, "use the checkpoints/last.ckpt of a `python -m src.train_classifier` run"
    )


def load_classifier(ckpt_path: str | Path, device: torch.device | str = "cpu") -> Classifier:
    """The trained classifier of a `python -m src.train_classifier` run, frozen, in eval mode."""
    path = require_checkpoint(ckpt_path)
    classifier = Classifier.load_from_checkpoint(path, map_location=device)
    classifier.eval().requires_grad_(False)
    return classifier


@torch.no_grad()
def classify(classifier: Classifier, images: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    """Penultimate features (float64, on the CPU) and predicted classes of images in [-1, 1]."""
    device = next(classifier.parameters()).device
    features, predictions = [], []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        f = classifier.features(batch)
        features.append(f.double().cpu())
        predictions.append(classifier.net.head(f).argmax(1).cpu())
    return torch.cat(features), torch.cat(predictions)


def class_histogram(predictions: Tensor, num_classes: int) -> Tensor:
    """Share of the samples in each class [num_classes] (sums to 1)."""
    counts = torch.bincount(predictions.flatten().long(), minlength=num_classes).double()
    return counts / counts.sum()


def entropy(histogram: Tensor) -> float:
    """Shannon entropy in nats of a histogram (0 log 0 = 0): ln K for K equally used classes."""
    p = histogram[histogram > 0].double()
    return float(-(p * p.log()).sum())


class ClassifierMetrics:
    """Compares generated images with a fixed set of real ones through one classifier."""

    def __init__(self, classifier: Classifier, real_images: Tensor, batch_size: int = 500):
        self.classifier, self.batch_size = classifier, batch_size
        self.num_classes = classifier.net.num_classes
        real_features, _ = classify(classifier, real_images, batch_size)
        self.real_mu, self.real_sigma = mean_and_covariance(real_features)

    def __call__(self, fake_images: Tensor, labels: Tensor | None = None) -> tuple[dict[str, float], Tensor]:
        """Scalar metrics (fid_cnn, class_entropy, and class_acc when labels are given) and the histogram."""
        features, predictions = classify(self.classifier, fake_images, self.batch_size)
        mu, sigma = mean_and_covariance(features)
        histogram = class_histogram(predictions, self.num_classes)
        metrics = {
            "fid_cnn": frechet_distance(self.real_mu, self.real_sigma, mu, sigma),
            "class_entropy": entropy(histogram),
        }
        if labels is not None:
            metrics["class_acc"] = float((predictions == labels.cpu()).double().mean())
        return metrics, histogram
