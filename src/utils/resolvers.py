"""OmegaConf resolvers used by conf/ (registered when `src` is imported, so every config user has them)."""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import OmegaConf

GPU_ACCELERATORS = ("gpu", "cuda")


def if_gpu(accelerator: str, on_gpu: Any, otherwise: Any) -> Any:
    """`on_gpu` when the run trains on a CUDA GPU (`trainer.accelerator` gpu/cuda, or auto with one
    present), else `otherwise`: e.g. bf16-mixed precision only where bf16 units exist."""
    if accelerator in GPU_ACCELERATORS:
        return on_gpu
    if accelerator == "auto":
        return on_gpu if torch.cuda.is_available() else otherwise
    return otherwise


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("if_gpu", if_gpu, replace=True)
