"""Small helpers shared by the command-line entry points."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src.utils.errors import GanlabError

T = TypeVar("T")


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; anything else is taken as a torch device name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def prepare_run(cfg: DictConfig) -> None:
    """Resolve the config once, seed every generator, and set the float32 matmul precision."""
    OmegaConf.resolve(cfg)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("matmul_precision"):
        torch.set_float32_matmul_precision(cfg.matmul_precision)


def run_or_exit(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Run an entry point's task; a user error becomes one line on stderr and exit code 2."""
    try:
        return task(cfg)
    except GanlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
