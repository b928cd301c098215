"""Reading a checkpoint: whether it is one, which LightningModule wrote it, whether it fits a model.

Every module of ganlab writes its class path under `ganlab_module` when it saves; `generate`,
`evaluate`, the metrics and `resume=` load a checkpoint as that class, so a GAN and a diffusion
checkpoint go through the same commands. A checkpoint written before the key existed is known by its
weights (a GAN's `generator.*`, the classifier's `net.*`). Each failure is one line naming the key to
change: a missing or truncated file, a checkpoint of another kind (what it is, and which command takes
it), a class this version lacks, another architecture (the differing hyper-parameter).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from src.core.checks import existing_file
from src.core.errors import ConfigError

MODULE_KEY = "ganlab_module"
# checkpoints written before MODULE_KEY, known by the prefix of their weights
LEGACY_MODULES = {"generator.": "src.gan.module.GAN", "net.": "src.classifier.module.Classifier"}


def record_module_class(checkpoint: dict[str, Any], module: L.LightningModule) -> None:
    """Call from `on_save_checkpoint`: the checkpoint names the class that wrote it."""
    cls = type(module)
    checkpoint[MODULE_KEY] = f"{cls.__module__}.{cls.__qualname__}"


def read_checkpoint(
    path: str | Path,
    key: str = "ckpt_path",
    use: str = "give a .ckpt written by src.train",
    mmap: bool = False,
) -> dict[str, Any]:
    """The checkpoint's contents, or one line: missing, a folder, truncated or not a checkpoint."""
    existing_file(path, key, use)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        checkpoint["state_dict"]
    except Exception as exc:  # truncated, not a checkpoint, or not one of ours
        reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else type(exc).__name__
        raise ConfigError(
            f"{key}={str(path)!r} is not a readable checkpoint ({reason}): it may be truncated; "
            "use another one (e.g. a periodic checkpoint of the same run)"
        ) from None
    return checkpoint


def class_path(checkpoint: Mapping[str, Any], key: str, ckpt_path: str | Path) -> str:
    """The class path a checkpoint names (or, written before the key existed, its weights show)."""
    if MODULE_KEY in checkpoint:
        return str(checkpoint[MODULE_KEY])
    for prefix, path in LEGACY_MODULES.items():
        if any(k.startswith(prefix) for k in checkpoint["state_dict"]):
            return path
    raise ConfigError(
        f"{key}={str(ckpt_path)!r} is not a checkpoint of ganlab: give one that src.train wrote"
    )


def checkpoint_class(
    ckpt_path: str | Path, key: str = "ckpt_path", wanted: type = L.LightningModule
) -> type[L.LightningModule]:
    """The project's LightningModule class that wrote the checkpoint (nothing outside `src.` is
    imported); one line when it is not a `wanted` one (what it is, and what takes it)."""
    path = class_path(read_checkpoint(ckpt_path, key, mmap=True), key, ckpt_path)
    module_name, _, name = path.rpartition(".")
    if not module_name.startswith("src."):
        raise ConfigError(f"the checkpoint names the class {path!r}: only ganlab's own modules (src.*) load")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"the checkpoint names the class {path!r}, which this version lacks") from None
    if not (isinstance(cls, type) and issubclass(cls, L.LightningModule)):
        raise ConfigError(f"the checkpoint names {path!r}, which is not a LightningModule")
    if not issubclass(cls, wanted):
        raise ConfigError(
            f"{key}={str(ckpt_path)!r} is a {cls.__name__} checkpoint, not a "
            f"{vars(wanted).get('kind', wanted.__name__)} one: a "
            f"{cls.__name__} checkpoint goes to {getattr(cls, 'checkpoint_use', 'the command that wrote it')}"
        )
    return cls


def load_module(
    ckpt_path: str | Path,
    map_location: torch.device | str,
    key: str = "ckpt_path",
    wanted: type = L.LightningModule,
):
    """The checkpoint's model, as the class that wrote it, in eval mode (one line if it is not a
    `wanted` one)."""
    cls = checkpoint_class(ckpt_path, key, wanted)
    return cls.load_from_checkpoint(str(ckpt_path), map_location=map_location).eval()


def _flat(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for k, v in tree.items():
        if isinstance(v, Mapping):
            flat.update(_flat(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def check_fits(checkpoint: Mapping[str, Any], model: nn.Module, hparams: Mapping, ckpt_path: str) -> None:
    """One line when the checkpoint holds another architecture than `model`: the differing shapes and,
    where the checkpoint's hyper-parameters say why, the setting to use (e.g. `model.latent_dim=8`)."""
    state, expected = checkpoint["state_dict"], model.state_dict()
    differ = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    missing = sorted(set(expected) - set(state))
    if not differ and not missing:
        return
    detail = "; ".join(differ[:3]) if differ else f"missing {', '.join(missing[:3])}"
    saved, given = _flat(checkpoint.get("hyper_parameters", {})), _flat(hparams)
    changed = sorted((k for k in given if k in saved and saved[k] != given[k]), key=lambda k: k.count("."))
    use = " ".join(f"model.{k}={saved[k]!r}" for k in changed[:3])
    raise ConfigError(
        f"ckpt_path={ckpt_path!r} holds another architecture than this config ({detail}; checkpoint vs "
        f"config): {f'use {use} (as it was trained), or ' if use else ''}resume with the run's own config "
        "(resume=<run folder>)"
    )


def trained_epochs(checkpoint: dict[str, Any]) -> int:
    """Epochs whose batches were all trained when the checkpoint was written. Read from the loops' saved
    progress: the public `epoch` of an epoch-end checkpoint is one behind."""
    total = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("total", {})
    return max(int(total.get("processed", 0)), int(total.get("completed", 0)))


def check_can_continue(checkpoint: dict[str, Any], max_epochs: int, max_steps: int, ckpt_path: str) -> None:
    """A finished run continues only with a larger budget than it already trained. Kept: Lightning
    itself would train nothing and exit 0 (tests/run/test_lightning_overrides.py)."""
    step, epochs = int(checkpoint.get("global_step", 0)), trained_epochs(checkpoint)
    if max_steps is not None and max_steps >= 0 and step >= max_steps:
        raise ConfigError(
            f"trainer.max_steps={max_steps} but {ckpt_path} has trained {step} steps already: use "
            f"trainer.max_steps > {step} to continue it"
        )
    if (max_steps is None or max_steps < 0) and max_epochs is not None and 0 <= max_epochs <= epochs:
        raise ConfigError(
            f"trainer.max_epochs={max_epochs} but {ckpt_path} has trained {epochs} epochs already: use "
            f"trainer.max_epochs > {epochs} to continue it"
        )
