"""ganlab through its own entry point (`src.train.fit`) and Lightning's Trainer, timed between two steps
by the StepWindow callback (benchmarks/step_window.py).

The config is the composed one from conf/ (plus the row's overrides, e.g. `+perf=fast`); for timing,
only what does not belong to training is switched off: progress bar, logger, checkpointing and the
sample-grid and images-per-second callbacks. `trainer.max_steps` bounds the run.
"""

from __future__ import annotations

import tempfile
from typing import Any

import lightning as L
from omegaconf import DictConfig, open_dict

from benchmarks.config import compose_run
from benchmarks.step_window import StepWindow
from benchmarks.timing import RunSpec, Timing
from src.train import fit


def for_timing(cfg: DictConfig, output_dir: str, max_steps: int, callback: dict[str, Any]) -> DictConfig:
    """The same training config with only the non-training parts off and `callback` as the only callback."""
    with open_dict(cfg):
        cfg.paths.output_dir = output_dir
        cfg.logger = None
        cfg.callbacks = {"bench": callback}
        cfg.trainer.max_epochs = -1
        cfg.trainer.max_steps = max_steps
        cfg.trainer.enable_progress_bar = False
        cfg.trainer.enable_model_summary = False
        cfg.trainer.enable_checkpointing = False
    return cfg


def fit_with(
    spec: RunSpec, overrides: tuple[str, ...], callback: dict[str, Any], max_steps: int
) -> L.Trainer:
    """Train through src.train.fit with `callback` (a Hydra `_target_` dict) for `max_steps` batches."""
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-") as output_dir:
        return fit(for_timing(compose_run(spec, overrides), output_dir, max_steps, callback))


def the_callback(trainer: L.Trainer, kind: type[L.Callback]) -> L.Callback:
    return next(cb for cb in trainer.callbacks if isinstance(cb, kind))


def measure_lightning(spec: RunSpec, overrides: tuple[str, ...] = ()) -> Timing:
    """Images/s of ganlab with the default config plus `overrides`."""
    start, end = spec.warmup, spec.warmup + spec.steps
    window_cfg = {"_target_": f"{StepWindow.__module__}.StepWindow", "start_step": start, "end_step": end}
    trainer = fit_with(spec, overrides, window_cfg, max_steps=end)
    window = the_callback(trainer, StepWindow)
    if window.seconds is None:
        raise RuntimeError(f"training stopped at step {trainer.global_step}, before the timed steps")
    images = spec.steps * spec.batch_size
    return Timing(images=images, seconds=window.seconds, precision=str(trainer.precision))
