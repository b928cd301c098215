"""The classifier LightningModule trained by `src.train_classifier`: held-out accuracy with and without
the course's augmentations, the saved checkpoint, and one-line errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from src.classifier.augment import CourseAugment
from src.classifier.metrics import load_classifier
from src.core.errors import ConfigError, user_error
from src.models import CourseCNN
from src.run.config_checks import validate_classifier_config
from src.train_classifier import train_classifier
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


def test_learns_well_above_chance_on_held_out_images(trained):
    results, ckpt = trained
    assert results["test/acc"] > 4 * CHANCE  # the held-out seed draws new images of the same classes
    classifier = load_classifier(ckpt)
    assert not classifier.training and not any(p.requires_grad for p in classifier.parameters())
    assert isinstance(classifier.net, CourseCNN)


def test_augmented_training_also_learns_well_above_chance(tmp_path):
    results = train_classifier(classifier_cfg(tmp_path / "aug"))  # augment=course, the default
    assert results["test/acc"] > 4 * CHANCE  # broken augmentations (e.g. images wiped) would fail this
    classifier = load_classifier(tmp_path / "aug" / "checkpoints" / "last.ckpt")
    assert isinstance(classifier.augment, CourseAugment) and classifier.augment.rotation_degrees == 10.0


@pytest.mark.parametrize(
    "override,named",
    [
        ("classifier.lr=0", "classifier.lr=0 is not allowed"),
        ("augment.rotation_degrees=-5", "augment.rotation_degrees=-5 is not allowed"),
        ("augment.zoom=1.0", "augment.zoom=1.0 is not allowed"),
        ("data.fraction=2", "data.fraction=2 is not allowed"),
    ],
)
def test_bad_values_get_one_line_before_training(tmp_path, override, named):
    with pytest.raises(Exception) as err:  # hydra's instantiate wraps what a constructor raises
        train_classifier(classifier_cfg(tmp_path, override))
    found = user_error(err.value)
    assert isinstance(found, ConfigError), err.value
    assert str(found).startswith(named) and "\n" not in str(found)
    assert not (tmp_path / "checkpoints").exists()


def test_test_split_needs_a_data_set_with_splits(tmp_path):
    cfg = classifier_cfg(tmp_path)
    with open_dict(cfg):
        cfg.test_data.split = "test"
    with pytest.raises(ConfigError, match=r"^test_data.split='test' needs a data set with splits"):
        validate_classifier_config(cfg)
