"""Image grids of a run, to TensorBoard and as PNG files: fixed-noise samples and the denoising strip.

SampleGrid draws the same samples (the same per-index codes) at every epoch end, so a run's progress
reads as a film; for a class-conditional model each row is one class (label = row index mod the
number of classes). DenoisingStrip shows a model's `trajectory` (x_T -> x_0 of a diffusion model,
one row per sample); a family without one (a GAN) returns None and gets no strip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torchvision.utils import make_grid, save_image

from src.core.checks import positive_int
from src.core.pixels import to_unit_range
from src.generative.module import GenerativeModule


def write_grid(trainer: L.Trainer, tag: str, images: Tensor, nrow: int, path: Path) -> None:
    """A grid of images (any pixel range) as `path` and as TensorBoard image `tag`, by rank 0."""
    if not trainer.is_global_zero:
        return
    grid = make_grid(to_unit_range(images).cpu(), nrow=nrow, padding=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(grid, path)
    for logger in trainer.loggers:
        experiment = getattr(logger, "experiment", None)  # loggers other than TensorBoard have no images
        if hasattr(experiment, "add_image"):
            experiment.add_image(tag, grid, global_step=trainer.global_step)


class SampleGrid(L.Callback):
    """Logs a grid of the fixed samples at each `every_n_epochs` epoch end and at the end of
    training, and a grid of real images once; to TensorBoard and as PNG files under `dirpath`."""

    def __init__(
        self,
        dirpath: str,
        grid_size: int = 8,
        seed: int = 1234,
        every_n_epochs: int = 1,
        eval_mode: bool = True,
        ema: bool = True,
    ):
        self.dirpath = Path(dirpath)
        self.grid_size, self.seed = grid_size, seed
        self.every_n_epochs, self.eval_mode, self.ema = every_n_epochs, eval_mode, ema
        self.real_written = False

    def on_train_start(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        self.real_written = False

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: GenerativeModule, *args: Any) -> None:
        """The real grid once the first step starts: a start that never trains writes nothing."""
        images = trainer.datamodule.images if trainer.datamodule is not None else None
        if not self.real_written and images is not None:
            self.real_written = True
            write_grid(
                trainer, "real", images[: self.grid_size**2], self.grid_size, self.dirpath / "real.png"
            )

    def row_labels(self, num_classes: int) -> Tensor:
        """One class per grid row: label = row index mod num_classes, for every image of the row."""
        rows = torch.arange(self.grid_size**2) // self.grid_size
        return rows % num_classes

    def generate(self, pl_module: GenerativeModule) -> Tensor:
        """The fixed samples of `seed` by the EMA net (unless `ema` is off), in eval mode unless
        `eval_mode` is off; a conditional model draws one class per row."""
        labels = self.row_labels(pl_module.num_classes) if pl_module.conditional else None
        return pl_module.sample(
            self.grid_size**2, self.seed, labels=labels, ema=self.ema, eval_mode=self.eval_mode
        )

    def _write(self, trainer: L.Trainer, pl_module: GenerativeModule, name: str) -> None:
        if trainer.is_global_zero:
            write_grid(trainer, "samples", self.generate(pl_module), self.grid_size, self.dirpath / name)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        epoch = trainer.current_epoch
        if (epoch + 1) % self.every_n_epochs == 0:
            self._write(trainer, pl_module, f"epoch_{epoch:04d}.png")

    def on_train_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        self._write(trainer, pl_module, f"final_step_{trainer.global_step:07d}.png")


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

    def write(self, trainer: L.Trainer, pl_module: GenerativeModule, name: str) -> None:
        if not trainer.is_global_zero:
            return
        shots = pl_module.trajectory(self.rows, seed=self.seed, frames=self.frames)  # [frames + 1, rows, ...]
        if shots is not None:
            images = shots.transpose(0, 1).flatten(0, 1)  # row-major: one sample per row
            write_grid(trainer, "denoising", images, shots.shape[0], self.dirpath / f"{name}.png")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        epoch = trainer.current_epoch
        if (epoch + 1) % self.every_n_epochs == 0:
            self.write(trainer, pl_module, f"denoising_epoch_{epoch:04d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        self.write(trainer, pl_module, f"denoising_final_step_{trainer.global_step:07d}")
