"""Train the course's CNN classifier: `python -m src.train_classifier [augment=none] [key=value ...]`.

A separate entry from src/train.py (its own config, conf/classifier.yaml) because it trains a
different kind of model with other knobs; it shares the data, trainer, logger, paths and hydra
groups. It fits on `data` (the CIFAR-10 training split), then reports accuracy on `data` patched with
`test_data` (the test split, never trained on), and leaves checkpoints/last.ckpt for the GAN metrics.
"""

from __future__ import annotations

from src.core.signals import stop_at_once

if __name__ == "__main__":
    stop_at_once()  # from here a Ctrl-C or SIGTERM is one line (src/core/signals.py)

import logging
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from src.callbacks.run_start import TrainingStarts
from src.classifier import Classifier
from src.generative.checkpoint import checkpoint_class
from src.run.attempt import Attempt
from src.run.config_checks import validate_classifier_config
from src.run.entry import main as run_main
from src.run.entry import prepare_run, run_task
from src.train import build_trainer

log = logging.getLogger(__name__)


def train_classifier(cfg: DictConfig) -> dict[str, float]:
    """Fit the classifier described by `cfg`, then test it; returns the test metrics (test/acc, ...)."""
    validate_classifier_config(cfg)
    with Attempt(Path(cfg.paths.output_dir), cfg) as attempt:  # one process per run folder
        prepare_run(cfg)
        datamodule = instantiate(cfg.data)
        test_data = instantiate(OmegaConf.merge(cfg.data, cfg.test_data))
        model = instantiate(cfg.classifier, _recursive_=False, _convert_="all")
        if cfg.get("ckpt_path"):
            checkpoint_class(cfg.ckpt_path, wanted=Classifier)  # a GAN's: one line naming what it is
        trainer = build_trainer(cfg, TrainingStarts(lambda t: attempt.take_over(t.global_step, None)))
        datamodule.prepare_data()
        test_data.prepare_data()
        log.info("run folder: %s", cfg.paths.output_dir)
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        (results,) = trainer.test(model, datamodule=test_data, verbose=False)
        attempt.end("finished", trainer.global_step)
        log.info("test accuracy: %.4f on %d images", results["test/acc"], len(test_data.images))
        return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="classifier")
def hydra_main(cfg: DictConfig) -> None:
    run_task(train_classifier, cfg)


def main() -> None:
    run_main(hydra_main)


if __name__ == "__main__":
    main()
