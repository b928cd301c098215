"""A checkpoint of a run's start, written by the run itself: the GPU check scores it beside the run's
last checkpoint (FID at the start vs at the end) without a second process and a second compile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L


class SaveAtStep(L.Callback):
    """Writes the model (weights, EMA, hparams: what `src.evaluate` reads) to `path` once, right after
    batch `step` (global steps count batches), e.g. `+callbacks.start._target_=...SaveAtStep`."""

    def __init__(self, step: int, path: str):
        self.step, self.path = step, Path(path)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.step and not self.path.is_file():
            trainer.save_checkpoint(self.path, weights_only=True)
