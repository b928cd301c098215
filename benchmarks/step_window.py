"""The benchmark's clock: wall time of a window of training steps, synced only at its two ends."""

from __future__ import annotations

import time
from typing import Any

import lightning as L

from src.core.device import sync_device


class StepWindow(L.Callback):
    """Wall time of the batches `start_step` .. `end_step - 1` (global batch indices, across epochs),
    with a device sync at those two points only; subclasses add what runs inside the window
    (`enter`/`leave`), e.g. the benchmark's profiler."""

    def __init__(self, start_step: int, end_step: int):
        self.start_step, self.end_step = start_step, end_step
        self.started: float | None = None
        self.seconds: float | None = None

    def enter(self, pl_module: L.LightningModule) -> None:
        """Called right after the clock starts."""

    def leave(self, pl_module: L.LightningModule) -> None:
        """Called right after the clock stops."""

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.start_step and self.started is None:
            sync_device(pl_module.device)
            self.started = time.perf_counter()
            self.enter(pl_module)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # global_step counts finished batches: it is end_step right after batch end_step - 1
        if trainer.global_step == self.end_step and self.started is not None and self.seconds is None:
            sync_device(pl_module.device)
            self.seconds = time.perf_counter() - self.started
            self.leave(pl_module)
