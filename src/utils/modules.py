"""Which LightningModule a checkpoint holds, and loading it as that class.

Every module of the project writes its class path under `ganlab_module` when it saves; `generate`,
`evaluate` and the metrics load a checkpoint as that class, so a GAN and a diffusion checkpoint go
through the same commands. A checkpoint written before the key existed is a GAN's.

Sampler options (`sampler`, `steps`, `eta`) of `generate` and `evaluate` apply to models that offer
`sampler_options` (diffusion); a model without it refuses them in one line rather than ignore them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import lightning as L
import torch

from src.utils.errors import ConfigError

MODULE_KEY = "ganlab_module"
LEGACY_MODULE = "src.gan.module.GAN"  # checkpoints written before MODULE_KEY
SAMPLER_KEYS = ("sampler", "steps", "eta")


def class_path(module: L.LightningModule) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def record_module_class(checkpoint: dict[str, Any], module: L.LightningModule) -> None:
    """Call from `on_save_checkpoint`: the checkpoint names the class that wrote it."""
    checkpoint[MODULE_KEY] = class_path(module)


def module_class(path: str) -> type[L.LightningModule]:
    """The project's LightningModule class at a dotted path (nothing outside `src.` is imported)."""
    module_name, _, name = path.rpartition(".")
    if not module_name.startswith("src."):
        raise ConfigError(f"the checkpoint names the class {path!r}: only ganlab's own modules (src.*) load")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"the checkpoint names the class {path!r}, which this version lacks") from None
    if not (isinstance(cls, type) and issubclass(cls, L.LightningModule)):
        raise ConfigError(f"the checkpoint names {path!r}, which is not a LightningModule")
    return cls


def checkpoint_class(ckpt_path: str | Path) -> type[L.LightningModule]:
    """The class that wrote a checkpoint (a GAN for checkpoints without the key)."""
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    return module_class(checkpoint.get(MODULE_KEY, LEGACY_MODULE))


def load_module(ckpt_path: str | Path, map_location: torch.device | str) -> L.LightningModule:
    """The checkpoint's model, as the class that wrote it, in eval mode."""
    cls = checkpoint_class(ckpt_path)
    return cls.load_from_checkpoint(str(ckpt_path), map_location=map_location).eval()


def sampler_options(cfg: Any, model: L.LightningModule) -> dict[str, Any]:
    """The sampler options given in `cfg` (null: the model's own), completed and checked by the model."""
    given = {k: cfg.get(k) for k in SAMPLER_KEYS if cfg.get(k) is not None}
    resolve = getattr(model, "sampler_options", None)
    if resolve is None:
        if given:
            key, value = next(iter(given.items()))
            raise ConfigError(
                f"{key}={value!r} is not allowed for this {type(model).__name__} checkpoint: sampler, steps "
                "and eta apply to diffusion checkpoints only (drop them)"
            )
        return {}
    return resolve(**given)
