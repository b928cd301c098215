"""Checks of the composed config that run before anything is built, so a bad value fails fast."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from src.augment import POLICIES, unknown_policies
from src.losses import ALL_LOSSES
from src.perf import COMPILE_MODES
from src.utils.errors import ConfigError

PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed")
SPEED_SWITCHES = ("channels_last", "fused_adam", "compile")
D_NORMS = ("batch", "none", "layer")  # normalisation choices of a discriminator's hidden layers


def is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def check_resolution(resolution: int, minimum: int = 32) -> int:
    """The DCGAN block count is derived from the resolution, so it must be a power of two >= 32."""
    if not isinstance(resolution, int) or resolution < minimum or not is_power_of_two(resolution):
        raise ConfigError(f"data.resolution={resolution!r} is not allowed: use a power of two >= {minimum}")
    return resolution


def _positive(value: object, name: str, kind: type = int) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind is int:
        ok = ok and isinstance(value, int)
    if not ok:
        what = "a whole number > 0" if kind is int else "a number > 0"
        raise ConfigError(f"{name}={value!r} is not allowed: use {what}")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first bad value found in a training config."""
    model, data = cfg.model, cfg.data
    _positive(model.latent_dim, "model.latent_dim")
    _positive(data.batch_size, "data.batch_size")
    _positive(model.lr_g, "model.lr_g", float)
    _positive(model.lr_d, "model.lr_d", float)
    _positive(model.n_critic, "model.n_critic")
    check_resolution(data.resolution)
    ema_decay = model.get("ema_decay")
    if ema_decay is not None and not (isinstance(ema_decay, (int, float)) and 0 <= ema_decay < 1):
        raise ConfigError(
            f"model.ema_decay={ema_decay!r} is not allowed: use a number in [0, 1) or null (off)"
        )
    if model.loss not in ALL_LOSSES:
        raise ConfigError(f"model.loss={model.loss!r} is unknown: use one of {', '.join(sorted(ALL_LOSSES))}")
    validate_zoo_options(cfg)
    precision = str(cfg.trainer.get("precision", "32"))
    if precision not in PRECISIONS:
        raise ConfigError(
            f"trainer.precision={precision!r} is not allowed: use one of 32, 16-mixed, bf16-mixed"
        )
    if cfg.trainer.get("sync_batchnorm") and cfg.trainer.get("accelerator") == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )
    betas = list(model.betas)
    if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
        raise ConfigError(f"model.betas={betas!r} is not allowed: use two numbers in [0, 1)")
    for switch in SPEED_SWITCHES:
        value = model.get(switch, False)
        if not isinstance(value, bool):
            raise ConfigError(f"model.{switch}={value!r} is not allowed: use true or false")
    mode = model.get("compile_mode", "default")
    if mode not in COMPILE_MODES:
        raise ConfigError(f"model.compile_mode={mode!r} is unknown: use one of {', '.join(COMPILE_MODES)}")


def check_fraction(fraction: object) -> float:
    """The share of the data set to train on: a number in (0, 1]."""
    ok = isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 < fraction <= 1
    if not ok:
        raise ConfigError(f"data.fraction={fraction!r} is not allowed: use a number in (0, 1], e.g. 0.1")
    return float(fraction)


def validate_zoo_options(cfg: DictConfig) -> None:
    """The knobs of the GAN family: penalty weight, conditioning, D normalisation, DiffAugment, data share."""
    model = cfg.model
    gp_weight = model.get("gp_weight", 0.0)
    if not isinstance(gp_weight, (int, float)) or isinstance(gp_weight, bool) or gp_weight < 0:
        raise ConfigError(f"model.gp_weight={gp_weight!r} is not allowed: use a number >= 0 (0 = no penalty)")
    for net in ("generator", "discriminator"):
        if "num_classes" in (model.get(net) or {}):
            _positive(model[net].num_classes, f"model.{net}.num_classes")
    norm = (model.get("discriminator") or {}).get("norm", "batch")
    if norm not in D_NORMS:
        raise ConfigError(f"model.discriminator.norm={norm!r} is unknown: use one of {', '.join(D_NORMS)}")
    bad = unknown_policies(model.get("diffaugment"))
    if bad:
        raise ConfigError(
            f"model.diffaugment={model.diffaugment!r} has unknown {', '.join(map(repr, bad))}: "
            f"use a comma-separated subset of {','.join(POLICIES)} (empty = off)"
        )
    check_fraction(cfg.data.get("fraction", 1.0))
    metrics = (cfg.get("callbacks") or {}).get("classifier_metrics") or {}
    if metrics.get("ckpt_path"):
        if not Path(metrics.ckpt_path).is_file():
            raise ConfigError(
                f"callbacks.classifier_metrics.ckpt_path={metrics.ckpt_path!r} does not exist: use the "
                "checkpoints/last.ckpt of a `python -m src.train_classifier` run"
            )
        for key in ("every_n_epochs", "num_samples", "batch_size"):
            _positive(metrics.get(key), f"callbacks.classifier_metrics.{key}")


def _non_negative(value: object, name: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{name}={value!r} is not allowed: use a number >= 0 (0 = off)")


def validate_classifier_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first bad value of a classifier config."""
    _positive(cfg.data.batch_size, "data.batch_size")
    _positive(cfg.classifier.lr, "classifier.lr", float)
    _non_negative(cfg.classifier.weight_decay, "classifier.weight_decay")
    check_fraction(cfg.data.get("fraction", 1.0))
    for key in ("rotation_degrees", "zoom", "shift", "brightness", "contrast", "noise_std"):
        _non_negative(cfg.augment.get(key, 0.0), f"augment.{key}")
    if cfg.augment.get("zoom", 0.0) >= 1:
        raise ConfigError(f"augment.zoom={cfg.augment.zoom!r} is not allowed: use a number in [0, 1)")
    if "split" in cfg.get("test_data", {}) and "split" not in cfg.data:
        raise ConfigError(
            f"test_data.split={cfg.test_data.split!r} needs a data set with splits (data=cifar10): for "
            "another set, give test_data what differs for a held-out set, e.g. test_data='{seed: 1}'"
        )
