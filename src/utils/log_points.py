"""When a training step's metrics reach the logger, decided on host integers alone (no device sync).

Lightning writes step metrics every `trainer.log_every_n_steps` steps. ganlab also writes them at the
first step, at each epoch's last batch and at the run's last step, so any run, however short, has
curves; those few extra points go to the loggers directly (Lightning would not write them).
"""

from __future__ import annotations

from collections.abc import Mapping

import lightning as L
from torch import Tensor


def lightning_writes(trainer: L.Trainer, step: int) -> bool:
    """Whether Lightning writes the step metrics of the batch that starts at `step` (steps done)."""
    every = trainer.log_every_n_steps
    return every > 0 and (step + 1) % every == 0


def extra_point(trainer: L.Trainer, step: int, batch_idx: int) -> bool:
    """The first step, each epoch's last batch, the run's last step: written even between two points."""
    last_of_epoch = batch_idx == trainer.num_training_batches - 1
    last_step = 0 < trainer.max_steps <= step + 1
    return step == 0 or last_of_epoch or last_step


def write_now(module: L.LightningModule, metrics: Mapping[str, Tensor | float], step: int) -> None:
    """Write `metrics` at `step` to every logger now (a host copy: only at the extra points)."""
    values = {name: float(value) for name, value in metrics.items()}
    for logger in module.loggers:
        logger.log_metrics(values, step=step)
