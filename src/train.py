"""Train a GAN: `python -m src.train [+experiment=NAME] [key=value ...]`.

Reads the composed Hydra config, checks it, builds data, model, callbacks, logger and Trainer from
it and fits. Every knob lives in conf/; this file only wires them together. `resume=<run>` continues
a run (src/utils/resume.py); a run folder that holds `checkpoints/last.ckpt` continues by itself.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, NamedTuple

import hydra
import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, open_dict

from src.callbacks.checkpoints import LastCheckpoint
from src.utils import signals
from src.utils.hparams import log_hparams
from src.utils.nonfinite import NonFiniteError
from src.utils.resume import LAST, check_can_continue, checkpoint_to_resume, load_checked, resume_argv
from src.utils.runtime import exit_with_error, prepare_run, run_or_exit, user_error
from src.utils.signals import StopRequested
from src.utils.sweep import in_multirun, objective, run_sweep_job
from src.utils.validation import validate_config

log = logging.getLogger(__name__)


def build_callbacks(cfg: DictConfig) -> list[L.Callback]:
    return [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None]


def build_plugins(cfg: DictConfig) -> list[Any]:
    """The plugins of `cfg.trainer`, plus, inside a SLURM job, Lightning's SLURM environment without
    its own requeue handler: stop and pre-emption signals have one owner, src/utils/signals.py."""
    plugins = [instantiate(p) for p in cfg.trainer.get("plugins") or []]
    if SLURMEnvironment.detect():
        plugins.append(SLURMEnvironment(auto_requeue=False))
    return plugins


def build_trainer(cfg: DictConfig) -> L.Trainer:
    """The Trainer of `cfg.trainer` with the callbacks and the logger (if any) of the config."""
    logger = instantiate(cfg.logger) if cfg.get("logger") else False
    return instantiate(cfg.trainer, callbacks=build_callbacks(cfg), logger=logger, plugins=build_plugins(cfg))


class Run(NamedTuple):
    """What a training config builds: data, model, Trainer (callbacks and logger inside it), and the
    checkpoint it continues from (None for a fresh run)."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer
    ckpt_path: str | None


def build(cfg: DictConfig) -> Run:
    """Check the config and build every component of the run; no data is read, nothing is trained.

    Each component checks its own arguments as it is built, so a bad value fails here with one line;
    so does a checkpoint that cannot continue this model.
    """
    validate_config(cfg)
    prepare_run(cfg)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # plain hparams in checkpoints
    ckpt_path = checkpoint_to_resume(cfg.get("ckpt_path"), cfg.paths.output_dir)
    if ckpt_path:
        checkpoint = load_checked(ckpt_path, model)
        check_can_continue(checkpoint, cfg.trainer.max_epochs, cfg.trainer.max_steps, ckpt_path)
        if cfg.get("logger"):
            with open_dict(cfg):  # the same TensorBoard run: the steps after the checkpoint are redrawn once
                cfg.logger.purge_step = int(checkpoint["global_step"])
    return Run(datamodule, model, build_trainer(cfg), ckpt_path)


def fit(cfg: DictConfig, reseed: int | None = None) -> L.Trainer:
    """One attempt: build, read the data, fit (from the checkpoint to resume, if any)."""
    datamodule, model, trainer, ckpt_path = build(cfg)
    if reseed is not None:
        for callback in trainer.callbacks:
            if isinstance(callback, LastCheckpoint):
                callback.reseed = reseed
    datamodule.prepare_data()  # a missing or empty data set fails here, before any training
    if trainer.logger and not ckpt_path:
        log_hparams(trainer.logger, cfg)
    log.info("run folder: %s", cfg.paths.output_dir)
    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
    return trainer


def fit_guarded(cfg: DictConfig) -> L.Trainer:
    """Fit the model described by `cfg`; returns the Trainer (its state holds the final step).

    A NaN/Inf stops the run (NonFiniteError); with `guard.on_nonfinite=rollback` the run goes back to
    its last good checkpoint and continues with another seed, at most `guard.max_rollbacks` times.
    """
    guard, rollbacks, reseed = cfg.get("guard") or {}, 0, None
    while True:
        try:
            return fit(cfg, reseed)
        except Exception as exc:
            err = user_error(exc)
            if isinstance(err, StopRequested):
                signals.hand_over(err)  # under SLURM this may requeue the job (and exit)
            if not isinstance(err, NonFiniteError):
                raise
            last = Path(cfg.paths.output_dir) / LAST
            can_roll_back = guard.get("on_nonfinite") == "rollback" and last.is_file()
            if not can_roll_back or rollbacks >= guard.get("max_rollbacks", 0):
                where = (
                    f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written"
                )
                tried = f" after {rollbacks} rollback(s)" if rollbacks else ""
                raise NonFiniteError(f"{err}{tried}; {where}") from None
            rollbacks += 1
            reseed = int(cfg.seed) + rollbacks
            log.warning("%s: rollback %d, from %s with seed %d", err, rollbacks, last, reseed)
            with open_dict(cfg):
                cfg.ckpt_path = str(last)


def train(cfg: DictConfig) -> float | None:
    """Fit, then return the final value of `cfg.optimized_metric` (None when it is not set): what a
    sweeper such as Optuna (`hparams_search=optuna`) optimises."""
    trainer = fit_guarded(cfg)
    return objective(trainer.callback_metrics, cfg.get("optimized_metric"))


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def hydra_main(cfg: DictConfig) -> float | None:
    if in_multirun():  # one failing job is recorded in its folder; the others go on
        return run_sweep_job(train, cfg)
    return run_or_exit(train, cfg)


def main() -> None:
    """`resume=` is turned into the resumed run's own command line before Hydra composes it."""
    try:
        sys.argv[1:] = resume_argv(sys.argv[1:])
    except Exception as exc:
        found = user_error(exc)
        if found is None:
            raise
        exit_with_error(found)
    hydra_main()


if __name__ == "__main__":
    main()
