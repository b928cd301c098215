"""Fixtures shared across test modules: composing the config, running the CLI, and the costly runs
(trained once per session) that several modules read."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from src.run.entry import setup
from tests.helpers import (
    CONFIG_DIR,
    FID_EPOCHS,
    SMALL_CLASSIFIER_NET,
    run_module,
    write_tiny_feature_network,
)

# One OpenMP thread per test process and for the CLIs they start (they inherit the variable): the nets
# here are tiny, and where the 2 cores are shared a second thread mostly spins at barriers (measured on
# a busy 2-core machine: `make test-fast` 2m29s with torch's 2 threads, 1m00s with 1). A value set by
# the caller wins.
TEST_THREADS = int(os.environ.setdefault("OMP_NUM_THREADS", "1"))
torch.set_num_threads(TEST_THREADS)
setup()  # what the entry points do first: the resolvers conf/ uses, the console filters


def compose_into(output_dir: Path | None, *overrides: str, config_name: str = "config") -> DictConfig:
    """conf/<config_name>.yaml with overrides, the run written into output_dir (None: left as is)."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=list(overrides))
    if output_dir is not None:
        with open_dict(cfg):
            cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture
def compose_cfg(tmp_path: Path) -> Callable[..., DictConfig]:
    """Compose conf/config.yaml with overrides, writing the run into tmp_path."""

    def _compose(*overrides: str) -> DictConfig:
        return compose_into(tmp_path / "run", *overrides)

    return _compose


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess]:
    """Run `python -m src.train ARGS` from the project root, as a user would."""

    def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return run_module("src.train", *args, timeout=timeout)

    return _run


# --- costly runs, trained once per session and shared by the modules that read them


@dataclass(frozen=True)
class FIDRun:
    """A finished training run with FID every epoch: its config, Trainer and feature network."""

    cfg: DictConfig
    trainer: L.Trainer
    weights: Path

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.paths.output_dir)

    @property
    def last_ckpt(self) -> Path:
        return self.run_dir / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="session")
def fid_run(tmp_path_factory) -> FIDRun:
    """The smoke run with the default callbacks (FID every epoch with a tiny feature network, the
    best checkpoint, a periodic one every 2 epochs, samples), 3 epochs: read by the FID, checkpoint,
    classifier-callback, evaluate and generate tests. Treat it as read only."""
    root = tmp_path_factory.mktemp("fid_run")
    weights = write_tiny_feature_network(root / "tiny.pt")
    cfg = compose_into(
        root / "run",
        "+experiment=smoke",
        "callbacks=default",
        "callbacks.fid.enabled=true",
        f"trainer.max_epochs={FID_EPOCHS}",
        "trainer.enable_progress_bar=false",
        "callbacks.periodic_checkpoint.every_n_epochs=2",
        "callbacks.fid.every_n_epochs=1",
        "callbacks.fid.n_samples=32",
        "callbacks.fid.n_real=64",
        "callbacks.fid.batch_size=16",
        "callbacks.fid.kid.subsets=3",
        "callbacks.fid.kid.subset_size=16",
        "callbacks.fid.raw=true",
        f"metrics.weights_path={weights}",
        f"metrics.cache_dir={root / 'cache'}",
        "metrics.allow_download=false",
    )
    from src.train import fit

    return FIDRun(cfg, fit(cfg), weights)


@pytest.fixture(scope="session")
def classifier_ckpt(tmp_path_factory) -> Path:
    """A small course classifier trained a few steps on the synthetic squares, saved as Lightning does:
    what the classifier metrics and their callback read."""
    from src.classifier import Classifier
    from src.data import SyntheticDataModule

    torch.manual_seed(0)
    model = Classifier(net=SMALL_CLASSIFIER_NET, lr=3e-3)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=20,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=128, batch_size=16, hflip=False))
    path = tmp_path_factory.mktemp("classifier") / "classifier.ckpt"
    trainer.save_checkpoint(path)
    return path
