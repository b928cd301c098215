"""fid_cnn, class histogram/entropy and class accuracy from the course's classifier; the callback."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import scipy.linalg
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.classifier import Classifier
from src.data import SyntheticDataModule
from src.data.base import to_model_range
from src.metrics.classifier_metrics import (
    ClassifierMetrics,
    class_histogram,
    classify,
    entropy,
    load_classifier,
)
from src.metrics.distances import frechet_distance
from src.train import train

SMALL_NET = {"_target_": "src.models.CourseCNN", "conv_widths": [4, 8], "hidden_dim": 16}
TINY = [
    "+experiment=smoke",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=2",
    "trainer.enable_progress_bar=false",
    "callbacks.classifier_metrics.num_samples=64",
    "callbacks.classifier_metrics.batch_size=32",
]


def random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, 2 * d))
    return a @ a.T / (2 * d)


def test_frechet_distance_matches_the_sqrtm_formula():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = random_covariance(rng, 6), random_covariance(rng, 6)
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-9)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(reference, rel=1e-9)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_one_dimensional_gaussians():
    # N(1, 2^2) vs N(4, 3^2): (1 - 4)^2 + (2 - 3)^2 = 10
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([4.0]), np.array([[9.0]]))
    assert isinstance(value, float) and value == pytest.approx(10.0)


def test_frechet_distance_copes_with_singular_covariances():
    rng = np.random.default_rng(1)
    low_rank = rng.normal(size=(5, 2))
    s = low_rank @ low_rank.T  # rank 2 of 5: what 128-d features of a few samples look like
    assert frechet_distance(np.zeros(5), s, np.zeros(5), s) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_histogram_and_entropy_by_hand():
    uniform = class_histogram(torch.arange(100) % 10, 10)
    assert torch.allclose(uniform, torch.full((10,), 0.1, dtype=torch.float64))
    assert entropy(uniform) == pytest.approx(math.log(10))
    collapsed = class_histogram(torch.full((50,), 3), 10)
    assert collapsed[3] == 1 and entropy(collapsed) == 0
    assert entropy(class_histogram(torch.tensor([1, 1, 7, 7]), 10)) == pytest.approx(math.log(2))


@pytest.fixture(scope="module")
def classifier_ckpt(tmp_path_factory) -> Path:
    """A small classifier trained a few steps on the synthetic squares, saved as Lightning does."""
    torch.manual_seed(0)
    model = Classifier(net=SMALL_NET, lr=3e-3)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=20,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=128, batch_size=16, hflip=False))
    path = tmp_path_factory.mktemp("clf") / "classifier.ckpt"
    trainer.save_checkpoint(path)
    return path


def real_images(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    dm = SyntheticDataModule(num_images=n, seed=seed)
    dm.setup()
    return to_model_range(dm.images, hflip=False), dm.labels


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


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("model", ["cdcgan", "dcgan"])
def test_callback_logs_the_metrics_every_epoch(compose_cfg, classifier_ckpt, model):
    cfg = compose_cfg(*TINY, f"model={model}", f"callbacks.classifier_metrics.ckpt_path={classifier_ckpt}")
    train(cfg)
    acc = events(Path(cfg.paths.output_dir))
    scalars = set(acc.Tags()["scalars"])
    assert {"metrics/fid_cnn", "metrics/class_entropy"} <= scalars
    assert ("metrics/class_acc" in scalars) == (model == "cdcgan")
    fid = acc.Scalars("metrics/fid_cnn")
    assert len(fid) == 1 and math.isfinite(fid[0].value) and fid[0].value > 0
    assert 0 <= acc.Scalars("metrics/class_entropy")[0].value <= math.log(10) + 1e-6
    assert "metrics/class_histogram" in acc.Tags()["histograms"]


def test_callback_is_off_without_a_checkpoint(compose_cfg):
    cfg = compose_cfg(*TINY)
    assert cfg.callbacks.classifier_metrics.ckpt_path is None
    train(cfg)
    assert not any(t.startswith("metrics/") for t in events(Path(cfg.paths.output_dir)).Tags()["scalars"])
