"""Test data made by the tests themselves, and small callbacks used by end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch

from src.data.cifar10 import SPLITS, write_split

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = PROJECT_ROOT / "conf"
# the course classifier's net, small enough to train in a second (conftest's classifier_ckpt)
FID_EPOCHS = 3  # epochs of conftest's shared fid_run (FID after each)
SMALL_CLASSIFIER_NET = {"_target_": "src.models.CourseCNN", "conv_widths": [4, 8], "hidden_dim": 16}


def write_cifar10(root: Path, per_batch: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A tiny CIFAR-10 in the official pickle layout under root/cifar-10-batches-py, written by the
    one writer of that layout (`src/data/cifar10.py: write_split`): per_batch images in each file.

    Returns the training images (uint8 [N, 3, 32, 32]) and labels, in file order.
    """
    rng = np.random.default_rng(seed)
    splits = {}
    for split, files in SPLITS.items():
        images = rng.integers(0, 256, size=(len(files) * per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=len(files) * per_batch)
        write_split(root, split, images, labels)
        splits[split] = images, labels
    return splits["train"]


def fit_tiny(
    model: L.LightningModule, max_steps: int, num_classes: int = 10, callbacks: list | None = None
) -> L.Trainer:
    """Train `model` for max_steps on 32 generated images, CPU, nothing written to disk."""
    from src.data import SyntheticDataModule

    trainer = L.Trainer(
        callbacks=callbacks,
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=32, batch_size=8, num_classes=num_classes))
    return trainer


class SaveRankWeights(L.Callback):
    """Saves each DDP rank's parameters at start and end, so a test can check that the ranks agree."""

    def __init__(self, dirpath: str):
        self.dirpath = Path(dirpath)

    def _save(self, trainer: L.Trainer, pl_module: L.LightningModule, when: str) -> None:
        self.dirpath.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in pl_module.state_dict().items()}
        torch.save(state, self.dirpath / f"rank{trainer.global_rank}_{when}.pt")

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "start")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._save(trainer, pl_module, "end")
        histories = [
            getattr(cb, "history", None) for cb in trainer.callbacks if type(cb).__name__ == "FIDCallback"
        ]
        torch.save(histories, self.dirpath / f"rank{trainer.global_rank}_fid.pt")


class RecordStartStep(L.Callback):
    """Remembers the global step at which training (re)started."""

    def __init__(self) -> None:
        self.start_step: int | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.start_step = trainer.global_step


class TinyFeatures(torch.nn.Module):
    """A small fixed stand-in for the Inception network: 299x299 input -> 16 features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 16, kernel_size=13, stride=13)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def write_tiny_feature_network(path: Path) -> Path:
    """Save TinyFeatures as TorchScript, the format of the fid-helper weights."""
    torch.jit.script(TinyFeatures().eval()).save(str(path))
    return path


def run_module(module: str, *args: str, env: dict | None = None, timeout: float = 600):
    """Run `python -m <module> ARGS` from the project root, as a user would (one-line errors on)."""
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def hinge_steps(g: torch.nn.Module, d: torch.nn.Module, labels: torch.Tensor | None = None, steps: int = 4):
    """`steps` D-then-G hinge steps of a plain G/D pair on random 32x32 data (Adam 2e-4, betas (0, 0.9),
    batch 8; conditional nets get `labels`): the (D, G) losses of each step."""
    from src.gan.losses import Hinge

    cond = () if labels is None else (labels,)
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.0, 0.9))
    real, z = torch.rand(8, 3, 32, 32) * 2 - 1, torch.randn(8, g.latent_dim)
    losses = []
    for _ in range(steps):
        loss_d = Hinge.d(d(real, *cond), d(g(z, *cond).detach(), *cond))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = Hinge.g(d(g(z, *cond), *cond))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        losses.append((loss_d.item(), loss_g.item()))
    return losses
