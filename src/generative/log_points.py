"""When a training step's metrics reach the logger, decided on host integers alone (no device sync).

Kept beside Lightning's logging: Lightning writes step metrics every `trainer.log_every_n_steps`
steps only, so a run shorter than that has no curves at all (tests/run/test_lightning_overrides.py).
Every LightningModule of ganlab also logs at the first step, at each epoch's last batch and at the
run's last step; Lightning would not write those few points, so they go to the loggers directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L


def logging_point(module: L.LightningModule, batch_idx: int) -> tuple[bool, int | None]:
    """Call at the start of a training step: (whether its metrics are logged, the step to write them
    at directly when Lightning would not write them itself, else None)."""
    trainer, step = module.trainer, module.global_step  # the step Lightning's logger gives this batch
    every = trainer.log_every_n_steps
    if every > 0 and (step + 1) % every == 0:
        return True, None
    last_of_epoch = batch_idx == trainer.num_training_batches - 1
    extra = step == 0 or last_of_epoch or 0 < trainer.max_steps <= step + 1
    return extra, step if extra else None


def log_point(
    module: L.LightningModule,
    extra: int | None,
    shown: Mapping[str, Any],
    more: Mapping[str, Any] | None = None,
    batch_size: int | None = None,
) -> None:
    """Log a logging point's metrics, `shown` also on the progress bar (a host copy: points only);
    `extra`: the step to write them at directly (logging_point's second answer)."""
    more = more or {}
    options = {"on_step": True, "on_epoch": False, "batch_size": batch_size}
    module.log_dict(dict(shown), prog_bar=True, **options)
    if more:
        module.log_dict(dict(more), **options)
    if extra is not None:
        values = {name: float(value) for name, value in {**shown, **more}.items()}
        for logger in module.loggers:
            logger.log_metrics(values, step=extra)
