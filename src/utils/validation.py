"""Checks of the composed config that cross components, run before anything is built.

Each component checks its own arguments when it is built (nets, data modules, the GAN module, the
callbacks); what is left here are the rules that tie two groups together, which no single component
can see.
"""

from __future__ import annotations

from omegaconf import DictConfig

from src.utils.errors import ConfigError

PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed")


def validate_trainer(cfg: DictConfig) -> None:
    """The trainer's precision, and SyncBatchNorm only where there are GPUs to sync."""
    precision = str(cfg.trainer.get("precision", "32"))
    if precision not in PRECISIONS:
        raise ConfigError(
            f"trainer.precision={precision!r} is not allowed: use one of 32, 16-mixed, bf16-mixed"
        )
    if cfg.trainer.get("sync_batchnorm") and cfg.trainer.get("accelerator") == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a training config."""
    validate_trainer(cfg)


def validate_classifier_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a classifier config."""
    validate_trainer(cfg)
    if "split" in cfg.get("test_data", {}) and "split" not in cfg.data:
        raise ConfigError(
            f"test_data.split={cfg.test_data.split!r} needs a data set with splits (data=cifar10): for "
            "another set, give test_data what differs for a held-out set, e.g. test_data='{seed: 1}'"
        )
