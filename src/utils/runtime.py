"""Small helpers shared by the command-line entry points."""

from __future__ import annotations

import torch


def pick_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; anything else is taken as a torch device name."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
