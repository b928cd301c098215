"""Small helpers shared by the command-line entry points (and the benchmark)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src.utils.errors import GanlabError

T = TypeVar("T")
USER_ERROR_EXIT = 2  # the exit status of a one-line user error (as argparse uses)


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; anything else is taken as a torch device name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def sync_device(device: torch.device) -> None:
    """Wait for the device's queued work: only where a clock starts or stops, never per step."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prepare_run(cfg: DictConfig) -> None:
    """Resolve the config once, seed every generator, and set the float32 matmul precision."""
    OmegaConf.resolve(cfg)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("matmul_precision"):
        torch.set_float32_matmul_precision(cfg.matmul_precision)


def user_error(err: BaseException) -> GanlabError | None:
    """The project's user error behind `err`, if any: Hydra's instantiate wraps what a component's
    constructor raises, so the cause chain is searched."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, GanlabError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def exit_with_error(message: object) -> NoReturn:
    """One line on stderr, `error: ...`, and the user-error exit status."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(USER_ERROR_EXIT)


def run_or_exit(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Run an entry point's task; a user error becomes one line on stderr and exit code 2."""
    try:
        return task(cfg)
    except Exception as err:
        found = user_error(err)
        if found is None:
            raise
        exit_with_error(found)
