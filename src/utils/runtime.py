"""Small helpers shared by the command-line entry points (and the benchmark)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from src.utils.errors import ConfigError, GanlabError

T = TypeVar("T")
USER_ERROR_EXIT = 2  # the exit status of a one-line user error (as argparse uses)


DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` (or `cuda:N`) only where there is a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={name!r} is unknown: use one of {', '.join(DEVICES)}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} is not available: this machine has no CUDA GPU (use device=cpu)")
    return device


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


def exit_with_error(message: object, code: int = USER_ERROR_EXIT) -> NoReturn:
    """One line on stderr, `error: ...`, and the exit status (the user-error one by default)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def run_or_exit(task: Callable[[DictConfig], T], cfg: DictConfig) -> T:
    """Run an entry point's task; a user error becomes one line on stderr and its exit code (2 for a
    bad value, 3 for a diverged run, 128 + N for a stop by signal N). A run folder the failed task
    left with nothing of its own in it is removed (outputs/ keeps only real runs)."""
    try:
        return task(cfg)
    except Exception as err:
        found = user_error(err)
        if found is None:
            raise
        output_dir = OmegaConf.select(cfg, "paths.output_dir", default=None)
        if output_dir and remove_if_unused(Path(output_dir)):
            command_dir = Path(output_dir).parent  # evaluate/generate: <run>/<command>/<time>
            if command_dir.name == cfg.get("task_name") and not any(command_dir.iterdir()):
                command_dir.rmdir()
        exit_with_error(found, getattr(found, "exit_code", USER_ERROR_EXIT))


def remove_if_unused(run_dir: Path) -> bool:
    """Remove a failed run's folder when it holds nothing of its own: only Hydra's `.hydra/` and log
    files (a bad value, a missing data set). A folder with anything else (a checkpoint, events, a
    resumed run's history) is kept untouched. Returns whether it was removed."""
    if not run_dir.is_dir():
        return False
    for path in run_dir.rglob("*"):
        inside_hydra = path.relative_to(run_dir).parts[0] == ".hydra"
        if path.is_file() and not inside_hydra and path.suffix != ".log":
            return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True
