"""OmegaConf resolvers used by conf/ (registered when `src` is imported, so every config user has them)."""

from __future__ import annotations

from pathlib import Path
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


def unique_dir(path: str) -> str:
    """`path`, created now; if another run took it first (same second), `path_2`, `path_3`, ...

    mkdir is atomic, so two runs started together never share a folder."""
    candidate, n = Path(path), 1
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            return str(candidate)
        except FileExistsError:
            n += 1
            candidate = Path(f"{path}_{n}")


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("if_gpu", if_gpu, replace=True)
    # cached: Hydra reads hydra.run.dir more than once, and each read must give the same folder
    OmegaConf.register_new_resolver("unique_dir", unique_dir, replace=True, use_cache=True)
