"""Checks of the composed config that cross components, run before anything is built.

Each component checks its own arguments when it is built (nets, data modules, the GAN module, the
callbacks); what is left here are the rules that tie two groups together, which no single component
can see.
"""

from __future__ import annotations

import difflib
import inspect
import os
from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_class
from lightning.pytorch.accelerators import AcceleratorRegistry
from lightning.pytorch.strategies import StrategyRegistry
from omegaconf import DictConfig, OmegaConf

from src.core.checks import is_whole, one_of, positive_int
from src.core.errors import ConfigError
from src.metrics.registry import CLASSIFIER_SCORES, score

GUARD_ACTIONS = ("stop", "rollback")
CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"
CUDA_ONLY_PRECISIONS = ("16-mixed", "16")  # float16 autocast: Lightning turns it into bf16 on a CPU


def closest(word: str, choices: list[str]) -> str:
    """` (did you mean X?)` for the closest choice, or the empty string."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    """Keys still set to `???`, found without resolving any interpolation."""
    found = []
    for key in cfg:
        if OmegaConf.is_missing(cfg, key):
            found.append(f"{prefix}{key}")
        elif not OmegaConf.is_interpolation(cfg, key) and isinstance(cfg[key], DictConfig):
            found += missing_keys(cfg[key], f"{prefix}{key}.")
    return sorted(found)


def known_keys(config_name: str) -> set[str]:
    """The top-level keys a command's config may hold: its primary file's keys and config groups."""
    primary = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{config_name}.yaml"))
    groups = [next(iter(d)) if isinstance(d, dict) else str(d) for d in primary.get("defaults", [])]
    return {str(k) for k in primary if k != "defaults"} | {g.split("/")[-1].split("@")[0] for g in groups}


def validate_run(cfg: DictConfig) -> None:
    """What every entry point needs: no key it does not know, no required value left unset, a
    whole-number seed."""
    if HydraConfig.initialized():  # (a config composed by a test has no command line to blame)
        config_name = HydraConfig.get().job.config_name
        unknown = sorted(set(map(str, cfg)) - known_keys(config_name))
        if unknown:
            allowed = sorted(known_keys(config_name) - {"_self_"})
            raise ConfigError(
                f"{unknown[0]}={OmegaConf.select(cfg, unknown[0])!r} is not a setting of this command"
                f"{closest(unknown[0], allowed)}: use one of {', '.join(allowed)}"
            )
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
    kind = validate_accelerator(trainer)
    if kind == "cpu" and precision in CUDA_ONLY_PRECISIONS:
        raise ConfigError(
            f"trainer.precision={precision} needs a CUDA GPU (float16 autocast): on a CPU use 32 or "
            "bf16-mixed"
        )
    if cfg.trainer.get("sync_batchnorm") and kind == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )
    validate_devices(trainer, kind)


def validate_accelerator(trainer: DictConfig) -> str:
    """The accelerator the run will use (`cpu`, `cuda`, ...): a known one that this machine has."""
    name = str(trainer.get("accelerator", "auto"))
    known = sorted(AcceleratorRegistry.available_accelerators())
    kind = "cuda" if name == "gpu" else name
    if kind == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if kind not in known:
        raise ConfigError(
            f"trainer.accelerator={name!r} is unknown{closest(name, known)}: use one of auto, "
            + ", ".join(known)
        )
    if not AcceleratorRegistry[kind]["accelerator"].is_available():
        hint = " (trainer=ddp trainer.accelerator=cpu trainer.sync_batchnorm=false: CPU processes)"
        raise ConfigError(
            f"trainer.accelerator={name} needs a {kind.upper()} device and this machine has none: use "
            f"trainer.accelerator=cpu{hint if trainer.get('sync_batchnorm') else ''}"
        )
    return kind


def validate_devices(trainer: DictConfig, kind: str) -> None:
    """Devices this machine has (a CPU: one process per core), and a known strategy; several processes
    need `trainer=ddp`, which tells DDP that G and D take turns (conf/trainer/ddp.yaml)."""
    devices = trainer.get("devices", 1)
    have = (torch.cuda.device_count() if kind == "cuda" else len(os.sched_getaffinity(0))) or 1
    count = devices if is_whole(devices) else len(devices) if OmegaConf.is_list(devices) else None
    if devices == -1 or devices == "auto":
        count = have
    if count is None or not 1 <= count <= have:
        unit = "GPU(s)" if kind == "cuda" else "CPU cores: one process each"
        raise ConfigError(
            f"trainer.devices={devices!r} is not allowed: this machine has {have} {unit}, use 1..{have}"
        )
    strategy = trainer.get("strategy", "auto")
    if isinstance(strategy, str):
        known = ["auto", *StrategyRegistry.available_strategies()]
        if strategy not in known:
            raise ConfigError(
                f"trainer.strategy={strategy!r} is unknown{closest(strategy, known)}: use trainer=ddp for "
                "several devices, or one of auto, ddp, ddp_spawn, fsdp, deepspeed"
            )
        if strategy == "auto" and count * int(trainer.get("num_nodes", 1)) > 1:
            raise ConfigError(
                f"trainer.devices={devices!r} starts several processes: use trainer=ddp with it (it tells "
                "DDP that G and D take turns)"
            )


# where a library class sends its **kwargs (a typo there fails only later, mid-run)
FORWARDED_KWARGS = {"TensorBoardLogger": "torch.utils.tensorboard.SummaryWriter"}


def arguments_of(cls: type) -> set[str] | None:
    """The keyword arguments `cls(...)` takes; a ganlab class's `**kwargs` go to its base class, a
    library class's to FORWARDED_KWARGS, any other's to places we cannot see (None: not checked)."""
    names: set[str] = set()
    if cls.__name__ in FORWARDED_KWARGS:
        forwarded = inspect.signature(get_class(FORWARDED_KWARGS[cls.__name__])).parameters
        names = set(forwarded)
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__ if klass is not cls else cls).parameters
        names |= {n for n, p in parameters.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            return names - {"self"}
        if cls.__name__ in FORWARDED_KWARGS:
            return names - {"self", "kwargs"}
        if not klass.__module__.startswith("src."):
            return None
    return None


def validate_settings(component: object, key: str) -> None:
    """Every key of a `_target_` config (and of those nested in it: a model's nets) is an argument of its
    class: a model takes no loss=... it lacks, a net no option it does not have, the Trainer no foo."""
    if not isinstance(component, DictConfig):
        return
    target = component.get("_target_")
    for name in component:
        if not OmegaConf.is_interpolation(component, name):
            validate_settings(component[name], f"{key}.{name}")
    if target is None or component.get("_partial_") or OmegaConf.is_interpolation(component, "_target_"):
        return
    try:
        parameters = arguments_of(get_class(target))
    except Exception:
        raise ConfigError(f"{key}._target_={target!r} cannot be imported: give a class path") from None
    if parameters is None:
        return
    unknown = [
        str(k) for k in component if k not in ("_target_", "_recursive_", "_convert_") and k not in parameters
    ]
    if unknown:
        name = target.rsplit(".", 1)[-1]
        hint = " (the loss group applies to GANs only: drop loss=...)" if unknown[0] == "loss" else ""
        value = OmegaConf.select(component, unknown[0], throw_on_resolution_failure=False)
        hint = hint or closest(unknown[0], sorted(parameters))
        raise ConfigError(f"{key}.{unknown[0]}={value!r} is not a {name} setting{hint}")


def validate_components(cfg: DictConfig, *keys: str) -> None:
    """`validate_settings` for each component a command builds (callbacks: each one)."""
    for key in keys:
        node = cfg.get(key)
        if key == "callbacks" and isinstance(node, DictConfig):
            for name in node:
                validate_settings(node[name], f"callbacks.{name}")
        else:
            validate_settings(node, key)


def validate_objective(cfg: DictConfig) -> None:
    """`optimized_metric` is one this run logs: a score needs the callback that computes it switched
    on (otherwise every trial of a search would fail at its very end)."""
    name = cfg.get("optimized_metric")
    if not name or not str(name).startswith("metrics/"):
        return
    callbacks = cfg.get("callbacks") or {}
    if name in {score(s) for s in CLASSIFIER_SCORES}:
        node, on, how = (
            callbacks.get("classifier_metrics"),
            "ckpt_path",
            "set callbacks.classifier_metrics.ckpt_path",
        )
        switched_on = node is not None and bool(node.get(on))
    else:
        node, how = callbacks.get("fid"), "use callbacks=fid_small (or callbacks.fid.enabled=true)"
        switched_on = node is not None and bool(node.get("enabled", True))
    if not switched_on:
        raise ConfigError(f"optimized_metric={name} is not computed by this run: {how}, or optimize loss/g")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a training config."""
    validate_run(cfg)
    validate_trainer(cfg)
    validate_components(cfg, "model", "data", "trainer", "logger", "callbacks")
    generator = cfg.model.get("generator") or {}
    if "latent_dim" in generator:  # the GAN builds its generator with model.latent_dim
        value = generator.latent_dim
        raise ConfigError(
            f"model.generator.latent_dim={value} is not a setting: use model.latent_dim={value}"
        )
    validate_objective(cfg)
    guard = cfg.get("guard") or {}
    one_of(guard.get("on_nonfinite", "stop"), "guard.on_nonfinite", GUARD_ACTIONS)
    positive_int(guard.get("max_rollbacks", 1), "guard.max_rollbacks")


def validate_classifier_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first cross-component mistake of a classifier config."""
    validate_run(cfg)
    validate_trainer(cfg)
    validate_components(cfg, "classifier", "data", "trainer", "logger", "callbacks")
    if "split" in cfg.get("test_data", {}) and "split" not in cfg.data:
        raise ConfigError(
            f"test_data.split={cfg.test_data.split!r} needs a data set with splits (data=cifar10): for "
            "another set, say what differs for a held-out set instead, e.g. '~test_data.split' "
            "+test_data.seed=1"
        )
