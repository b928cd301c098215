"""The course's CNN classifier: architecture, per-image augmentations, training and test accuracy."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict
from torch import nn

from src.course_augment import CourseAugment
from src.metrics.classifier_metrics import load_classifier
from src.models import CourseCNN
from src.train_classifier import train_classifier
from src.utils.errors import ConfigError
from src.utils.validation import validate_classifier_config
from tests.helpers import CONFIG_DIR

NUM_CLASSES = 10
CHANCE = 1 / NUM_CLASSES


def classifier_cfg(output_dir: Path, *overrides: str) -> DictConfig:
    """conf/classifier.yaml on the synthetic squares (class = square colour), held out by another seed."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="classifier",
            overrides=[
                "data=synthetic",
                "trainer=cpu",
                "data.num_images=640",
                "data.batch_size=32",
                "~test_data.split",
                "+test_data.seed=99",
                "+test_data.num_images=300",
                "trainer.max_epochs=3",
                "trainer.log_every_n_steps=5",
                "trainer.enable_progress_bar=false",
                "trainer.enable_model_summary=false",
                "classifier.lr=3e-3",
                *overrides,
            ],
        )
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[dict[str, float], Path]:
    run = tmp_path_factory.mktemp("classifier")
    results = train_classifier(classifier_cfg(run, "augment=none"))
    return results, run / "checkpoints" / "last.ckpt"


def test_architecture_is_the_courses():
    net = CourseCNN()
    kinds = [type(m) for m in net.conv]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten]
    assert [type(m) for m in net.dense] == [nn.Linear, nn.ReLU] and net.dense[0].out_features == 128
    assert (net.head.in_features, net.head.out_features) == (128, 10)
    x = torch.randn(4, 3, 32, 32)
    assert tuple(net(x).shape) == (4, 10) and tuple(net.features(x).shape) == (4, 128)


def test_learns_well_above_chance_on_held_out_images(trained):
    results, ckpt = trained
    assert results["test/acc"] > 4 * CHANCE  # the held-out seed draws new images of the same classes
    classifier = load_classifier(ckpt)
    assert not classifier.training and not any(p.requires_grad for p in classifier.parameters())
    assert isinstance(classifier.net, CourseCNN)


def test_augmented_training_runs_and_reports_accuracy(tmp_path):
    results = train_classifier(classifier_cfg(tmp_path / "aug", "trainer.max_epochs=1"))
    assert 0.0 <= results["test/acc"] <= 1.0
    assert (tmp_path / "aug" / "checkpoints" / "last.ckpt").is_file()


def test_augmentations_draw_per_image_and_switch_off():
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).expand(32, 3, 32, 32).contiguous()
    every = CourseAugment().train()
    y = every(x)
    assert len({round(v, 4) for v in y.flatten(1).sum(1).tolist()}) == 32  # each image its own draw
    assert y.min() >= -1 and y.max() <= 1
    assert every.eval()(x) is x  # evaluation sees the images as they are
    off = CourseAugment(
        flip=False, rotation_degrees=0, zoom=0, shift=0, brightness=0, contrast=0, noise_std=0
    ).train()
    assert torch.equal(off(x), x)
    flip_only = CourseAugment(
        flip=True, rotation_degrees=0, zoom=0, shift=0, brightness=0, contrast=0, noise_std=0
    ).train()
    z = flip_only(x)
    mirrored = (z == x.flip(3)).flatten(1).all(1)
    assert ((z == x).flatten(1).all(1) | mirrored).all() and 0 < mirrored.sum() < 32


def test_shift_alone_moves_content_by_whole_warps():
    x = torch.zeros(8, 1, 32, 32)
    x[:, :, 12:20, 12:20] = 1.0
    shift = CourseAugment(
        flip=False,
        rotation_degrees=0,
        zoom=0,
        shift=0.1,
        brightness=0,
        contrast=0,
        noise_std=0,
        fill_mode="zeros",
    ).train()
    torch.manual_seed(1)
    y = shift(x)
    centres = [(img[0] > 0.5).nonzero().float().mean(0) for img in y]
    offsets = torch.stack(centres) - 15.5
    assert offsets.abs().max() <= 0.1 * 32 + 0.5 and offsets.abs().max() > 0.5


@pytest.mark.parametrize(
    "override,named",
    [
        ("classifier.lr=0", "classifier.lr=0 is not allowed"),
        ("augment.rotation_degrees=-5", "augment.rotation_degrees=-5 is not allowed"),
        ("augment.zoom=1.0", "augment.zoom=1.0 is not allowed"),
        ("data.fraction=2", "data.fraction=2 is not allowed"),
    ],
)
def test_bad_values_get_one_line(tmp_path, override, named):
    with pytest.raises(ConfigError) as err:
        validate_classifier_config(classifier_cfg(tmp_path, override))
    assert str(err.value).startswith(named) and "\n" not in str(err.value)


def test_test_split_needs_a_data_set_with_splits(tmp_path):
    cfg = classifier_cfg(tmp_path)
    with open_dict(cfg):
        cfg.test_data.split = "test"
    with pytest.raises(ConfigError, match=r"^test_data.split='test' needs a data set with splits"):
        validate_classifier_config(cfg)
