"""The GAN metrics read off the course's classifier (src/classifier/metrics.py): fid_cnn, the class
histogram and its entropy, class accuracy; loading the checkpoint."""

from __future__ import annotations

import math

import pytest
import torch

from src.classifier.metrics import (
    ClassifierMetrics,
    class_histogram,
    classify,
    entropy,
    load_classifier,
    require_checkpoint,
)
from src.core.errors import ConfigError
from src.data import SyntheticDataModule
from src.data.base import to_model_range
from src.models import CourseCNN


def test_histogram_and_entropy_by_hand():
    uniform = class_histogram(torch.arange(100) % 10, 10)
    assert torch.allclose(uniform, torch.full((10,), 0.1, dtype=torch.float64))
    assert entropy(uniform) == pytest.approx(math.log(10))
    collapsed = class_histogram(torch.full((50,), 3), 10)
    assert collapsed[3] == 1 and entropy(collapsed) == 0
    assert entropy(class_histogram(torch.tensor([1, 1, 7, 7]), 10)) == pytest.approx(math.log(2))


def real_images(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    dm = SyntheticDataModule(num_images=n, seed=seed)
    dm.setup()
    return to_model_range(dm.images, hflip=False), dm.labels


def test_the_checkpoint_loads_frozen_in_eval_mode_and_a_missing_one_is_one_line(classifier_ckpt, tmp_path):
    classifier = load_classifier(classifier_ckpt)
    assert isinstance(classifier.net, CourseCNN)
    assert not classifier.training and not any(p.requires_grad for p in classifier.parameters())
    with pytest.raises(ConfigError) as err:
        require_checkpoint(tmp_path / "none.ckpt", "some.key")
    message = str(err.value)
    assert message.startswith(f"some.key={str(tmp_path / 'none.ckpt')!r} is missing") and "\n" not in message


def test_metrics_separate_real_from_noise_and_read_labels(classifier_ckpt):
    classifier = load_classifier(classifier_ckpt)
    real, _ = real_images()
    metrics = ClassifierMetrics(classifier, real, batch_size=32)
    same, histogram = metrics(real)
    assert same["fid_cnn"] == pytest.approx(0.0, abs=1e-6)
    assert "class_acc" not in same and histogram.sum() == pytest.approx(1.0)
    other, _ = metrics(real_images(seed=5)[0])
    noise, _ = metrics(torch.rand_like(real) * 2 - 1)
    assert 0 < other["fid_cnn"] < noise["fid_cnn"]  # new images of the same classes are closer than noise

    _, predictions = classify(classifier, real, 32)
    assert metrics(real, predictions)[0]["class_acc"] == 1.0
    assert metrics(real, (predictions + 1) % 10)[0]["class_acc"] == 0.0
    single = real[predictions == predictions[0]]
    assert metrics(single)[0]["class_entropy"] == 0.0
