"""The moment a training attempt starts to train: when the run layer takes the run folder over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightning as L


class TrainingStarts(L.Callback):
    """Calls `action(trainer)` once per fit, as its first training step starts: every check has passed
    and any checkpoint is restored, so the attempt trains (src/run/attempt.py writes the run's record
    then, and nothing in the run folder changes before)."""

    def __init__(self, action: Callable[[L.Trainer], None]):
        self.action = action
        self.started = False

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.started = False

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if not self.started:
            self.started = True
            self.action(trainer)
