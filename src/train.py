"""Train a model: `python -m src.train [+experiment=NAME] [key=value ...]`.

From the command line to `trainer.fit`, top to bottom: `main` turns `resume=<run>` into that run's own
command line, Hydra composes the config, `train` checks it, locks the run folder and builds data,
model, callbacks, logger and Trainer (`build`), and `fit` fits, going back to the last good checkpoint
on a NaN when `guard.on_nonfinite=rollback`. Nothing in the run folder changes until the first step
trains (src/run/attempt.py). Every knob lives in conf/; this file only wires them together.
"""

from __future__ import annotations

from src.core.signals import stop_at_once

if __name__ == "__main__":
    stop_at_once()  # from here until training a Ctrl-C or SIGTERM is one line, and nothing is written

import logging
import sys
from pathlib import Path
from typing import Any, NamedTuple

import hydra
import lightning as L
from hydra.utils import instantiate
from lightning.pytorch.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf, open_dict

from src.callbacks.hparams import HParamsTable
from src.callbacks.progress import EpochProgressBar
from src.callbacks.run_start import TrainingStarts
from src.core import signals
from src.core.errors import ConfigError, user_error
from src.generative.checkpoint import check_can_continue, check_fits, checkpoint_class, read_checkpoint
from src.generative.nonfinite import NonFiniteError
from src.run.attempt import Attempt
from src.run.config_checks import validate_config
from src.run.entry import main as run_main
from src.run.entry import prepare_run, run_task
from src.run.naming import job_overrides, swept_keys
from src.run.resume import LAST, checkpoint_to_resume, resume_argv

log = logging.getLogger(__name__)


def build_trainer(cfg: DictConfig, *extra: L.Callback) -> L.Trainer:
    """The Trainer of `cfg.trainer` with the config's callbacks (and `extra`) and logger. Inside a SLURM
    job, Lightning's SLURM environment runs without its own requeue handler: stop and pre-emption
    signals have one owner, LastCheckpoint (src/callbacks/checkpoints.py says why)."""
    bar = [EpochProgressBar()] if cfg.trainer.get("enable_progress_bar", True) else []  # first: see its doc
    callbacks = [*bar, *(instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None)]
    callbacks += extra
    plugins = [instantiate(p) for p in cfg.trainer.get("plugins") or []]
    if SLURMEnvironment.detect():
        plugins.append(SLURMEnvironment(auto_requeue=False))
    logger = instantiate(cfg.logger) if cfg.get("logger") else False
    return instantiate(cfg.trainer, callbacks=callbacks, logger=logger, plugins=plugins)


class Run(NamedTuple):
    """What a training config builds: data, model, Trainer (callbacks and logger inside it), and the
    checkpoint it continues from (None for a fresh run)."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer
    ckpt_path: str | None


def build(cfg: DictConfig, attempt: Attempt | None = None) -> Run:
    """Check the config and build every component of the run; no data is read, nothing is trained.

    Each component checks its own arguments as it is built, so a bad value fails here with one line;
    so does a checkpoint that cannot continue this model. `attempt` takes the run folder over when
    the first step starts.
    """
    validate_config(cfg)
    prepare_run(cfg)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # plain hparams in checkpoints
    ckpt_path = checkpoint_to_resume(cfg.get("ckpt_path"), cfg.paths.output_dir)
    if ckpt_path:
        checkpoint = read_checkpoint(ckpt_path, use="use a .ckpt file (or resume=<run folder>)")
        checkpoint_class(ckpt_path, wanted=type(model))  # a DDPM's in a GAN run: one line
        check_fits(checkpoint, model, OmegaConf.to_container(cfg.model), ckpt_path)
        check_can_continue(checkpoint, cfg.trainer.max_epochs, cfg.trainer.max_steps, ckpt_path)
        if cfg.get("logger"):
            with open_dict(cfg):  # the same TensorBoard run: the steps after the checkpoint are redrawn once
                cfg.logger.purge_step = int(checkpoint["global_step"])

    def take_over(trainer: L.Trainer) -> None:
        steps = trainer.estimated_stepping_batches
        attempt.take_over(trainer.global_step, int(steps) if steps != float("inf") else None)

    extra = [TrainingStarts(take_over)] if attempt is not None else []
    if not ckpt_path:  # a resumed run has its HPARAMS table already
        extra.append(HParamsTable(cfg, job_overrides(), swept_keys()))
    return Run(datamodule, model, build_trainer(cfg, *extra), ckpt_path)


def parameter_counts(model: L.LightningModule) -> str:
    """`generator: DCGANGenerator 3.58M parameters, ...`: the model in one line (Lightning's summary
    table, off in conf/trainer/default.yaml, adds an all-zero FLOPs column)."""
    nets = [(n, m, sum(p.numel() for p in m.parameters())) for n, m in model.named_children()]
    return ", ".join(
        f"{n}: {type(m).__name__} {count / 1e6:.2f}M parameters" for n, m, count in nets if count
    )


def fit(cfg: DictConfig) -> L.Trainer:
    """Fit the run `cfg` describes; returns the Trainer (its state holds the final step).

    A NaN/Inf stops the run (NonFiniteError, one line naming the last good checkpoint); with
    `guard.on_nonfinite=rollback` the run goes back to that checkpoint and continues with another
    seed, at most `guard.max_rollbacks` times.
    """
    validate_config(cfg)  # a bad value before the lock: it names the value, not the folder
    with Attempt(Path(cfg.paths.output_dir), cfg) as attempt:
        return fit_attempt(cfg, attempt)


def fit_attempt(cfg: DictConfig, attempt: Attempt) -> L.Trainer:
    """`fit` inside the run folder's lock; the run's status.json says how the attempt ended."""
    guard, rollbacks = cfg.get("guard") or {}, 0
    while True:
        datamodule, model, trainer, ckpt_path = build(cfg, attempt)
        datamodule.prepare_data()  # a missing or empty data set fails here, before any training
        log.info("run folder: %s; %s", cfg.paths.output_dir, parameter_counts(model))
        signals.install()  # from here a stop signal is honoured at a safe point, with a checkpoint
        try:
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
            attempt.end("finished", trainer.global_step)
            return trainer
        except Exception as exc:
            err = user_error(exc)
            if not isinstance(err, NonFiniteError):
                stopped = isinstance(err, signals.StopRequested)
                attempt.end("stopped" if stopped else "failed", trainer.global_step, str(err or exc))
                raise
            last = Path(cfg.paths.output_dir) / LAST
            can_roll_back = guard.get("on_nonfinite") == "rollback" and last.is_file()
            if not can_roll_back or rollbacks >= guard.get("max_rollbacks", 0):
                where = (
                    f"the last good checkpoint is {last}" if last.is_file() else "no checkpoint was written"
                )
                tried = f" after {rollbacks} rollback(s)" if rollbacks else ""
                attempt.end("diverged", trainer.global_step, str(err))
                raise NonFiniteError(f"{err}{tried}; {where}") from None
            rollbacks += 1
            reseed = int(cfg.seed) + rollbacks
            log.warning("%s: rollback %d, from %s with seed %d", err, rollbacks, last, reseed)
            with open_dict(cfg):  # the checkpoint's random state would lead to the same NaN
                cfg.ckpt_path = str(last)
                cfg.callbacks.checkpoint.reseed = reseed
        finally:
            signals.uninstall()


def train(cfg: DictConfig) -> float | None:
    """Fit, then return the final value of `cfg.optimized_metric` (None when it is not set): what a
    sweeper such as Optuna (`hparams_search=optuna`) optimises."""
    return objective(fit(cfg).callback_metrics, cfg.get("optimized_metric"))


def objective(logged: dict[str, Any], name: str | None) -> float | None:
    """The final value of metric `name` among the run's logged metrics (None when `name` is None)."""
    if name is not None and name not in logged:
        allowed = ", ".join(sorted(logged)) or "none"
        raise ConfigError(f"optimized_metric={name!r} was not logged by this run: logged are {allowed}")
    return None if name is None else float(logged[name])


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def hydra_main(cfg: DictConfig) -> Any:
    return run_task(train, cfg)


def main() -> None:
    """`resume=` is turned into the resumed run's own command line before Hydra composes it."""

    def resume_then_hydra() -> None:
        sys.argv[1:] = resume_argv(sys.argv[1:])
        hydra_main()

    run_main(resume_then_hydra)


if __name__ == "__main__":
    main()
