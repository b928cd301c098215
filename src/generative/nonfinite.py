"""Catch a NaN/Inf loss without a host sync per step: a device-side flag, read only when needed.

Each step folds "are these losses finite?" into a flag on the device, together with the first bad
step's number and values; nothing is copied to the host. The flag is read at logging steps (when
the logger copies the losses anyway) and before every checkpoint, so a diverged run stops within
`log_every_n_steps` steps and never writes a checkpoint with non-finite weights.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.core.errors import GanlabError


class NonFiniteError(GanlabError):
    """Training produced a NaN or Inf: the run stops; no checkpoint of it is written."""

    exit_code = 3
    keeps_last_checkpoint = True  # the last checkpoint written before it is the good one


class NonFiniteTracker:
    """Device-side record of the first step whose named values were not all finite."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.step: Tensor | None = None  # device counter of steps seen
        self.first_bad_step: Tensor | None = None  # -1 while all finite
        self.first_bad_values: Tensor | None = None

    def start(self, step: int, device: torch.device) -> None:
        """Before the first step (and after a resume): one host-to-device copy, not one per step."""
        self.step = torch.tensor(step, device=device)
        self.first_bad_step = torch.tensor(-1, device=device)
        self.first_bad_values = None

    def update(self, **values: Tensor) -> None:
        """Fold this step's values in; device ops only."""
        if self.step is None:
            raise RuntimeError("NonFiniteTracker.start was not called before the first step")
        stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()])
        if self.first_bad_values is None:
            self.names, self.first_bad_values = tuple(values), torch.zeros_like(stacked)
        record = (~torch.isfinite(stacked).all()) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(record, self.step, self.first_bad_step)
        self.first_bad_values = torch.where(record, stacked, self.first_bad_values)
        self.step = self.step + 1

    def check(self) -> None:
        """Raise NonFiniteError naming the first bad step and its values (reads the flag: a sync)."""
        if self.first_bad_step is None or int(self.first_bad_step) < 0:
            return
        values = ", ".join(f"{n}={v:g}" for n, v in zip(self.names, self.first_bad_values.tolist()))
        raise NonFiniteError(f"step {int(self.first_bad_step)}: non-finite {values}")


def first_nonfinite_parameter(module: nn.Module) -> str | None:
    """The name of the first parameter or buffer holding a NaN or Inf (None when all are finite)."""
    tensors = [*module.named_parameters(), *module.named_buffers()]
    floats = [(n, t) for n, t in tensors if t.is_floating_point()]
    if not floats:
        return None
    finite = torch.stack([torch.isfinite(t).all() for _, t in floats]).tolist()  # one sync
    bad = [n for (n, _), ok in zip(floats, finite) if not ok]
    return bad[0] if bad else None
