"""The denoising strip of a diffusion model: x_T -> x_0 in a few frames, one row per sample.

It calls the model's `trajectory(n, seed, frames)` (src/diffusion/module.py); a model without one
(a GAN) is left alone, so the callback can sit in every run's callback list.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torchvision.utils import make_grid, save_image

from src.callbacks.samples import to_unit_range
from src.utils.checks import positive_int


class DenoisingStrip(L.Callback):
    """Logs `denoising` (rows: samples; columns: x_T, then `frames` steps to x_0) to TensorBoard
    and as PNG under `dirpath`, every `every_n_epochs` epochs and at the end of training."""

    def __init__(
        self, dirpath: str, rows: int = 4, frames: int = 10, seed: int = 1234, every_n_epochs: int = 1
    ):
        for value, name in ((rows, "rows"), (frames, "frames"), (every_n_epochs, "every_n_epochs")):
            positive_int(value, f"callbacks.denoising_strip.{name}")
        self.dirpath = Path(dirpath)
        self.rows, self.frames, self.seed, self.every_n_epochs = rows, frames, seed, every_n_epochs

    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, name: str) -> None:
        trajectory = getattr(pl_module, "trajectory", None)
        if trajectory is None or not trainer.is_global_zero:
            return
        shots = trajectory(self.rows, seed=self.seed, frames=self.frames)  # [frames + 1, rows, C, H, W]
        images = shots.transpose(0, 1).flatten(0, 1)  # row-major: one sample per row
        grid = make_grid(to_unit_range(images).cpu(), nrow=shots.shape[0], padding=2)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"{name}.png")
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                experiment.add_image("denoising", grid, global_step=trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        if (epoch + 1) % self.every_n_epochs == 0:
            self.write(trainer, pl_module, f"denoising_epoch_{epoch:04d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, pl_module, f"denoising_final_step_{trainer.global_step:07d}")
