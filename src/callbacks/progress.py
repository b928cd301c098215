"""The console's progress bar: Lightning's tqdm bar, epochs counted from 1, the losses on its line."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import convert_inf


class EpochProgressBar(TQDMProgressBar):
    """`Epoch 1/25` (Lightning counts from 0 and starts with an empty `Training` bar), the module's bar
    metrics after the bar on one line that tqdm fits to the terminal, without Lightning's version
    number. Each epoch's bar stays on a line of its own; it is the first callback, so it is closed before
    the other callbacks log the epoch's end below it."""

    def __init__(self) -> None:
        super().__init__(leave=True)
        self.first_bar = False

    @property
    def train_description(self) -> str:
        epochs = self.trainer.max_epochs
        return f"Epoch {self.trainer.current_epoch + 1}{f'/{epochs}' if epochs and epochs > 0 else ''}"

    def on_train_start(self, *args: Any) -> None:
        super().on_train_start(*args)
        self.first_bar = True  # the first epoch's

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        if not self.first_bar:  # Lightning's own with leave=True, without its "Epoch N" label
            self.train_progress_bar = self.init_train_tqdm()
        self.first_bar = False
        self.train_progress_bar.initial = 0
        self.train_progress_bar.reset(total=convert_inf(self.total_train_batches))

    def get_metrics(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        return {k: v for k, v in super().get_metrics(trainer, pl_module).items() if k != "v_num"}
