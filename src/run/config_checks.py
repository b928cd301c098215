"""Checks of the composed config that no single component can make, run before anything is built:
keys nobody takes, rules that tie two groups together, and what this machine cannot run. Each
component checks its own values when it is built."""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from src.core.checks import did_you_mean, is_whole, one_of, positive_int
from src.core.errors import ConfigError
from src.metrics.registry import CLASSIFIER_SCORES, score

GUARD_ACTIONS = ("stop", "rollback")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


def known_keys(config_name: str) -> set[str]:
    """The top-level keys a command's config may hold: its primary file's keys and config groups."""
    primary = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{config_name}.yaml"))
    groups = [next(iter(d)) if isinstance(d, dict) else str(d) for d in primary.get("defaults", [])]
    return {str(k) for k in primary if k != "defaults"} | {g.split("/")[-1].split("@")[0] for g in groups}


def validate_run(cfg: DictConfig) -> None:
    """What every entry point needs: no key it does not know, a whole-number seed (a required value
    left unset OmegaConf refuses itself when it is read: src/run/errors.py)."""
    if HydraConfig.initialized():  # (a config composed by a test has no command line to blame)
        config_name = HydraConfig.get().job.config_name
        unknown = sorted(set(map(str, cfg)) - known_keys(config_name))
        if unknown:
            allowed = sorted(known_keys(config_name) - {"_self_"})
            raise ConfigError(
                f"{unknown[0]}={OmegaConf.select(cfg, unknown[0])!r} is not a setting of this command"
                f"{did_you_mean(unknown[0], allowed)}: use one of {', '.join(allowed)}"
            )
    if "seed" in cfg and not is_whole(cfg.seed):
        raise ConfigError(f"seed={cfg.seed!r} is not allowed: use a whole number")


PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed")


def validate_trainer(cfg: DictConfig) -> None:
    """The budget, logging period and precision, and the devices this machine has; an unknown
    accelerator or strategy name Lightning refuses itself, in one line (src/run/errors.py)."""
    trainer = cfg.trainer
    for key in ("max_epochs", "max_steps"):
        value = trainer.get(key, -1)
        if not (is_whole(value) and (value >= 1 or value == -1)):
            raise ConfigError(
                f"trainer.{key}={value!r} is not allowed: use a whole number >= 1 (-1: no limit)"
            )
    if trainer.get("max_epochs", -1) == -1 and trainer.get("max_steps", -1) == -1:
        raise ConfigError("trainer.max_epochs=-1 and trainer.max_steps=-1 would never stop: set one of them")
    positive_int(trainer.get("log_every_n_steps", 50), "trainer.log_every_n_steps")
    precision = one_of(str(trainer.get("precision", "32")), "trainer.precision", PRECISIONS)
    name = str(trainer.get("accelerator", "auto"))
    on_gpu = name in ("gpu", "cuda") or (name == "auto" and torch.cuda.is_available())
    if on_gpu and not torch.cuda.is_available():
        use = "trainer.accelerator=cpu" + (
            " trainer.sync_batchnorm=false" if trainer.get("sync_batchnorm") else ""
        )
        raise ConfigError(f"trainer.accelerator={name} needs a CUDA GPU and this machine has none: use {use}")
    if not on_gpu and precision == "16-mixed":
        raise ConfigError(
            "trainer.precision=16-mixed needs a CUDA GPU (float16 autocast): on a CPU use 32 or bf16-mixed"
        )
    if not on_gpu and trainer.get("sync_batchnorm"):
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )
    devices = trainer.get("devices", 1)
    have = (torch.cuda.device_count() if on_gpu else len(os.sched_getaffinity(0))) or 1
    count = have if devices in (-1, "auto") else len(devices) if OmegaConf.is_list(devices) else devices
    if not (is_whole(count) and 1 <= count <= have):
        unit = "GPU(s)" if on_gpu else "CPU cores: one process each"
        raise ConfigError(
            f"trainer.devices={devices!r} is not allowed: this machine has {have} {unit}, use 1..{have}"
        )
    if trainer.get("strategy", "auto") == "auto" and count * int(trainer.get("num_nodes", 1)) > 1:
        raise ConfigError(
            f"trainer.devices={devices!r} starts several processes: use trainer=ddp with it (it tells DDP "
            "that G and D take turns)"
        )


# where a library class sends its **kwargs (a typo there fails only later, mid-run)
FORWARDED_KWARGS = {"TensorBoardLogger": "torch.utils.tensorboard.SummaryWriter"}


def arguments_of(cls: type) -> set[str] | None:
    """The keyword arguments `cls(...)` takes: a ganlab class's `**kwargs` go to its base class, a
    library class's to FORWARDED_KWARGS, any other's where we cannot see (None: not checked)."""
    forwarded = FORWARDED_KWARGS.get(cls.__name__)
    names: set[str] = set()
    for klass in [cls, *([get_class(forwarded)] if forwarded else cls.__mro__[1:])]:
        parameters = inspect.signature(klass).parameters
        names |= {n for n, p in parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
        if all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return names
        if not (forwarded or klass.__module__.startswith("src.")):
            return None
    return None


def validate_settings(component: object, key: str) -> None:
    """Every key of a `_target_` config (and of those nested in it: a model's nets, each callback) is an
    argument of its class: a model takes no loss=... it lacks, a net no option it lacks."""
    if not isinstance(component, DictConfig):
        return
    for name in component:
        if not OmegaConf.is_interpolation(component, name):
            validate_settings(component[name], f"{key}.{name}")
    target = component.get("_target_")
    if target is None or component.get("_partial_") or OmegaConf.is_interpolation(component, "_target_"):
        return
    try:
        parameters = arguments_of(get_class(target))
    except Exception:
        raise ConfigError(f"{key}._target_={target!r} cannot be imported: give a class path") from None
    unknown = [str(k) for k in component if k not in ("_target_", "_recursive_", "_convert_")]
    unknown = [k for k in unknown if parameters is not None and k not in parameters]
    if unknown:
        hint = " (the loss group applies to GANs only: drop loss=...)" if unknown[0] == "loss" else ""
        value = OmegaConf.select(component, unknown[0], throw_on_resolution_failure=False)
        hint = hint or did_you_mean(unknown[0], sorted(parameters))
        raise ConfigError(f"{key}.{unknown[0]}={value!r} is not a {target.rsplit('.', 1)[-1]} setting{hint}")


def validate_objective(cfg: DictConfig) -> None:
    """`optimized_metric` needs the callback that computes it switched on (otherwise every trial of a
    search would fail at its very end)."""
    name, callbacks = cfg.get("optimized_metric"), cfg.get("callbacks") or {}
    if name in {score(s) for s in CLASSIFIER_SCORES}:
        on = bool((callbacks.get("classifier_metrics") or {}).get("ckpt_path"))
        how = "set callbacks.classifier_metrics.ckpt_path"
    elif str(name).startswith("metrics/"):
        on = bool(callbacks.get("fid") and callbacks.fid.get("enabled", True))
        how = "use callbacks=fid_small (or callbacks.fid.enabled=true)"
    if name and str(name).startswith("metrics/") and not on:
        raise ConfigError(f"optimized_metric={name} is not computed by this run: {how}, or optimize loss/g")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a training config."""
    validate_run(cfg)
    validate_trainer(cfg)
    for key in ("model", "data", "trainer", "logger", "callbacks"):
        validate_settings(cfg.get(key), key)
    if "latent_dim" in (
        cfg.model.get("generator") or {}
    ):  # the GAN builds its generator with model.latent_dim
        value = cfg.model.generator.latent_dim
        raise ConfigError(
            f"model.generator.latent_dim={value} is not a setting: use model.latent_dim={value}"
        )
    validate_objective(cfg)
    one_of((cfg.get("guard") or {}).get("on_nonfinite", "stop"), "guard.on_nonfinite", GUARD_ACTIONS)
    positive_int((cfg.get("guard") or {}).get("max_rollbacks", 1), "guard.max_rollbacks")


def validate_classifier_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a classifier config."""
    validate_run(cfg)
    validate_trainer(cfg)
    for key in ("classifier", "data", "trainer", "logger", "callbacks"):
        validate_settings(cfg.get(key), key)
    if "split" in cfg.get("test_data", {}) and "split" not in cfg.data:
        raise ConfigError(
            f"test_data.split={cfg.test_data.split!r} needs a data set with splits (data=cifar10): for "
            "another set, say what differs for a held-out set, e.g. '~test_data.split' +test_data.seed=1"
        )
