"""Which device a command runs on, and waiting for it where a clock starts or stops."""

from __future__ import annotations

import torch

from src.core.errors import ConfigError


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` (or `cuda:N`) only where there is a GPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device={name!r} is unknown: use one of auto, cpu, cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} is not available: this machine has no CUDA GPU (use device=cpu)")
    return device


def sync_device(device: torch.device) -> None:
    """Wait for the device's queued work: only where a clock starts or stops, never per step."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
