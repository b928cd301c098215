"""The optimizer of a model, from config: a partial optimizer beside its learning rate.

As in lightning-hydra-template, `model.optimizer` names the class and its options
(`_target_: torch.optim.Adam`, `betas: [0.5, 0.999]`); the module adds the parameters and the learning
rate it computes (a GAN's `lr_g` / `lr_d` times `lr_scale`, a DDPM's `lr`). The options are checked
once, when the model is built, by building the optimizer on a stand-in parameter: a bad value is one
line before any data is read, named by its key.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate

from src.core.checks import in_range
from src.core.errors import ConfigError

ADAM = "torch.optim.Adam"
PROBE_LR = 1e-3  # the stand-in learning rate of the check (the real one is checked by the module)


def check_betas(betas: Sequence[float], name: str) -> tuple[float, float]:
    betas = list(betas) if isinstance(betas, Sequence) and not isinstance(betas, str) else betas
    if not isinstance(betas, list) or len(betas) != 2:
        raise ConfigError(f"{name}={betas!r} is not allowed: use two numbers in [0, 1)")
    return tuple(in_range(b, name, 0.0, 1.0) for b in betas)  # type: ignore[return-value]


def optimizer_factory(
    spec: Mapping[str, Any] | None, lr_keys: str, name: str = "model.optimizer", **defaults: Any
) -> functools.partial:
    """`spec` (null: Adam with `defaults`) as a partial optimizer taking (params, lr=...), checked;
    `lr_keys` name where the learning rate is set instead."""
    spec = dict(spec) if spec is not None else {"_target_": ADAM, **defaults}
    spec.pop("_partial_", None)
    if "lr" in spec:
        raise ConfigError(f"{name}.lr={spec['lr']!r} is not allowed: use {lr_keys} for the learning rate")
    if "betas" in spec:
        spec["betas"] = check_betas(spec["betas"], f"{name}.betas")  # Adam keeps them as given
    try:
        factory = instantiate({**spec, "_partial_": True})
        factory([torch.zeros(1, requires_grad=True)], lr=PROBE_LR)
    except InstantiationException:
        raise ConfigError(
            f"{name}._target_={spec.get('_target_')!r} is not allowed: use an optimizer class, e.g. {ADAM}"
        ) from None
    except (TypeError, ValueError) as exc:
        options = {k: v for k, v in spec.items() if k != "_target_"}
        target = spec["_target_"]
        raise ConfigError(f"{name}={options} is not allowed: {exc} (use options {target} accepts)") from None
    return factory
