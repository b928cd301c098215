"""Checks of the composed config that cross components, run before anything is built.

Each component checks its own arguments when it is built (nets, data modules, the GAN module, the
callbacks); what is left here are the rules that tie two groups together, which no single component
can see.
"""

from __future__ import annotations

import inspect

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from src.core.checks import is_whole, one_of, positive_int
from src.core.errors import ConfigError

GUARD_ACTIONS = ("stop", "rollback")


def missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Keys still set to `???`, found without resolving any interpolation."""
    found = []
    for key in cfg:
        if OmegaConf.is_missing(cfg, key):
            found.append(f"{prefix}{key}")
        elif not OmegaConf.is_interpolation(cfg, key) and isinstance(cfg[key], DictConfig):
            found += missing_keys(cfg[key], f"{prefix}{key}.")
    return sorted(found)


def validate_run(cfg: DictConfig) -> None:
    """What every entry point needs: no required value left unset, a whole-number seed."""
    missing = missing_keys(cfg)
    if missing:
        hint = " (the folder of class sub-folders of images)" if missing[0] == "data.path" else ""
        raise ConfigError(f"{missing[0]} is not set: use {missing[0]}=...{hint}")
    if "seed" in cfg and not is_whole(cfg.seed):
        raise ConfigError(f"seed={cfg.seed!r} is not allowed: use a whole number")


PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed")


def validate_trainer(cfg: DictConfig) -> None:
    """The trainer's budget, logging period and precision, and SyncBatchNorm only where GPUs sync it."""
    trainer = cfg.trainer
    max_epochs, max_steps = trainer.get("max_epochs", -1), trainer.get("max_steps", -1)
    if not (is_whole(max_epochs) and (max_epochs >= 1 or max_epochs == -1)):
        raise ConfigError(
            f"trainer.max_epochs={max_epochs!r} is not allowed: use a whole number >= 1 (-1: no limit)"
        )
    if not (is_whole(max_steps) and (max_steps >= 1 or max_steps == -1)):
        raise ConfigError(
            f"trainer.max_steps={max_steps!r} is not allowed: use a whole number >= 1 (-1: no limit)"
        )
    if max_epochs == -1 and max_steps == -1:
        raise ConfigError("trainer.max_epochs=-1 and trainer.max_steps=-1 would never stop: set one of them")
    positive_int(trainer.get("log_every_n_steps", 50), "trainer.log_every_n_steps")
    precision = str(cfg.trainer.get("precision", "32"))
    if precision not in PRECISIONS:
        raise ConfigError(
            f"trainer.precision={precision!r} is not allowed: use one of 32, 16-mixed, bf16-mixed"
        )
    if cfg.trainer.get("sync_batchnorm") and cfg.trainer.get("accelerator") == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )


def validate_settings(component: object, key: str) -> None:
    """Every key of a `_target_` config (and of those nested in it: a model's nets) is an argument of its
    class: a model takes no loss=... it lacks, a net no option it does not have."""
    if not isinstance(component, DictConfig):
        return
    target = component.get("_target_")
    for name in component:
        if not OmegaConf.is_interpolation(component, name):
            validate_settings(component[name], f"{key}.{name}")
    if target is None or component.get("_partial_"):
        return
    parameters = inspect.signature(get_class(target)).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = [k for k in component if k != "_target_" and k not in parameters]
    if unknown:
        name = target.rsplit(".", 1)[-1]
        hint = " (the loss group applies to GANs only: drop loss=...)" if unknown[0] == "loss" else ""
        value = OmegaConf.select(component, unknown[0], throw_on_resolution_failure=False)
        raise ConfigError(f"{key}.{unknown[0]}={value!r} is not a {name} setting{hint}")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a training config."""
    validate_run(cfg)
    validate_trainer(cfg)
    validate_settings(cfg.get("model"), "model")
    guard = cfg.get("guard") or {}
    one_of(guard.get("on_nonfinite", "stop"), "guard.on_nonfinite", GUARD_ACTIONS)
    positive_int(guard.get("max_rollbacks", 1), "guard.max_rollbacks")


def validate_classifier_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a classifier config."""
    validate_run(cfg)
    validate_trainer(cfg)
    if "split" in cfg.get("test_data", {}) and "split" not in cfg.data:
        raise ConfigError(
            f"test_data.split={cfg.test_data.split!r} needs a data set with splits (data=cifar10): for "
            "another set, give test_data what differs for a held-out set, e.g. test_data='{seed: 1}'"
        )
