"""Train a GAN: `python -m src.train [+experiment=NAME] [key=value ...]`.

Reads the composed Hydra config, checks it, builds data, model, callbacks, logger and Trainer from
it and fits. Every knob lives in conf/; this file only wires them together.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from src.utils.errors import GanlabError
from src.utils.hparams import log_hparams
from src.utils.validation import validate_config

log = logging.getLogger(__name__)


def build_callbacks(cfg: DictConfig) -> list[L.Callback]:
    return [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]


def train(cfg: DictConfig) -> L.Trainer:
    """Fit the model described by `cfg`; returns the Trainer (its state holds the final step)."""
    validate_config(cfg)
    OmegaConf.resolve(cfg)
    L.seed_everything(cfg.seed, workers=True)
    if cfg.get("matmul_precision"):
        torch.set_float32_matmul_precision(cfg.matmul_precision)

    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()  # a missing or empty data set fails here, before any training
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # plain hparams in checkpoints
    logger = instantiate(cfg.logger) if cfg.get("logger") else False
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=build_callbacks(cfg), logger=logger)
    if logger:
        log_hparams(logger, cfg)
    log.info("run folder: %s", cfg.paths.output_dir)
    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    return trainer


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> Any:
    try:
        train(cfg)
    except GanlabError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
