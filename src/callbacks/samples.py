"""Fixed-noise sample grids: the same latent codes every epoch, so a run's progress reads as a film.

For a class-conditional GAN each row of the grid is one class (label = row index mod the number of
classes), so one glance shows whether G honours its labels.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torchvision.utils import make_grid, save_image


def to_unit_range(images: Tensor) -> Tensor:
    """[-1, 1] float or [0, 255] uint8 -> float [0, 1], as image writers expect."""
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return (images.float().clamp(-1, 1) + 1) / 2


class SampleGrid(L.Callback):
    """Logs a grid of G(z_fixed) at each `every_n_epochs` epoch end and at the end of training,
    and a grid of real images once; to TensorBoard and as PNG files under `dirpath`."""

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

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        datamodule = trainer.datamodule
        if datamodule is not None and getattr(datamodule, "images", None) is not None:
            self._write(trainer, "real", datamodule.images[: self.grid_size**2], "real")

    def row_labels(self, num_classes: int) -> Tensor:
        """One class per grid row: label = row index mod num_classes, for every image of the row."""
        rows = torch.arange(self.grid_size**2) // self.grid_size
        return rows % num_classes

    def generate(self, pl_module: L.LightningModule) -> Tensor:
        """The fixed samples of `seed` by the EMA generator (unless `ema` is off), in eval mode unless
        `eval_mode` is off; a conditional model draws one class per row."""
        labels = None
        if getattr(pl_module, "conditional", False):
            labels = self.row_labels(pl_module.num_classes)
        return pl_module.sample(
            self.grid_size**2, self.seed, labels=labels, ema=self.ema, eval_mode=self.eval_mode
        )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch
        if trainer.is_global_zero and (epoch + 1) % self.every_n_epochs == 0:
            self._write(trainer, "samples", self.generate(pl_module), f"epoch_{epoch:04d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            self._write(trainer, "samples", self.generate(pl_module), f"final_step_{trainer.global_step:07d}")

    @rank_zero_only
    def _write(self, trainer: L.Trainer, tag: str, images: Tensor, name: str) -> None:
        grid = make_grid(to_unit_range(images).cpu(), nrow=self.grid_size, padding=2)
        self.dirpath.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.dirpath / f"{name}.png")
        for logger in trainer.loggers:
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "add_image"):
                experiment.add_image(tag, grid, global_step=trainer.global_step)
