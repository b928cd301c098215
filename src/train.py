"""Train a GAN: `python -m src.train [+experiment=NAME] [key=value ...]`.

Reads the composed Hydra config, checks it, builds data, model, callbacks, logger and Trainer from
it and fits. Every knob lives in conf/; this file only wires them together.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import hydra
import lightning as L
from hydra.utils import instantiate
from omegaconf import DictConfig

from src.utils.hparams import log_hparams
from src.utils.runtime import prepare_run, run_or_exit
from src.utils.validation import validate_config

log = logging.getLogger(__name__)


def build_callbacks(cfg: DictConfig) -> list[L.Callback]:
    return [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer of `cfg.trainer` with the callbacks and the logger (if any) of the config."""
    logger = instantiate(cfg.logger) if cfg.get("logger") else False
    return instantiate(cfg.trainer, callbacks=build_callbacks(cfg), logger=logger)


class Run(NamedTuple):
    """What a training config builds: data, model and Trainer (callbacks and logger inside it)."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer


def build(cfg: DictConfig) -> Run:
    """Check the config and build every component of the run; nothing is read, downloaded or trained.

    Each component checks its own arguments as it is built, so a bad value fails here with one line.
    """
    validate_config(cfg)
    prepare_run(cfg)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # plain hparams in checkpoints
    return Run(datamodule, model, build_trainer(cfg))


def train(cfg: DictConfig) -> L.Trainer:
    """Fit the model described by `cfg`; returns the Trainer (its state holds the final step)."""
    datamodule, model, trainer = build(cfg)
    datamodule.prepare_data()  # a missing or empty data set fails here, before any training
    if trainer.logger:
        log_hparams(trainer.logger, cfg)
    log.info("run folder: %s", cfg.paths.output_dir)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return trainer


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    run_or_exit(train, cfg)


if __name__ == "__main__":
    main()
