"""TensorBoard's HPARAMS tab (the keys a job changed, the swept ones first, then the course's knobs; the
registry's metric columns) in an event file of its own, and the whole config in hparams.yaml: written
when a new run's first step starts."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.hparams import plugin_data_pb2
from torch.utils.tensorboard.summary import hparams
from torch.utils.tensorboard.writer import FileWriter

from src.metrics.registry import COLUMNS

# The course's knobs, shown after the overridden keys (when the config has them).
KEY_HPARAMS = (
    "model.latent_dim",
    "model.loss",
    "model.lr_g",
    "model.lr_d",
    "data.batch_size",
    "data.fraction",
    "trainer.max_epochs",
    "trainer.max_steps",
    "trainer.precision",
    "seed",
)
# overrides that only say where things are: not hyper-parameters
LOCATION_SUFFIXES = (
    "data_dir",
    "log_dir",
    "output_dir",
    "ckpt_path",
    "weights_path",
    "cache_dir",
    "data.path",
)


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def run_hparams(cfg: DictConfig, overrides: list[tuple[str, str]]) -> dict[str, Any]:
    """The job's overridden keys (swept first), then the KEY_HPARAMS; values as the config resolved them."""
    flat: dict[str, Any] = {}
    for key, text in overrides:
        if key.startswith("hydra") or key.endswith(LOCATION_SUFFIXES) or key.startswith("paths."):
            continue
        value = OmegaConf.select(cfg, key, default=None) if "/" not in key else None
        flat[key] = _scalar(text if value is None or isinstance(value, DictConfig) else value)
    for key in KEY_HPARAMS:
        value = OmegaConf.select(cfg, key, default=None)
        if key not in flat and value is not None:
            flat[key] = _scalar(value)
    return flat


def full_config(cfg: DictConfig) -> dict[str, Any]:
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except Exception:  # an interpolation that only Hydra can resolve
        return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def mark_differing(experiment: Any, keys: list[str]) -> None:
    """Set `differs` on these hparam columns of an experiment summary. TensorBoard orders HPARAMS's
    columns by (not differs, name) and shows the first few: unmarked, a swept `model.latent_dim`
    would sit behind `data.*`, hidden until ticked. Kept: neither Lightning's log_hyperparams nor
    TensorBoard's summary API sets the field (tests/test_browser.py: the swept key is the first column)."""
    value = experiment.value[0]
    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
    for info in data.experiment.hparam_infos:
        info.differs = info.name in keys
    value.metadata.plugin_data.content = data.SerializeToString()


@rank_zero_only
def log_hparams(
    logger: TensorBoardLogger, cfg: DictConfig, overrides: list[tuple[str, str]], swept: list[str]
) -> None:
    """Declare the run's hparams and the metric columns; the columns fill from the logged scalars.
    The keys that tell runs apart (a sweep's `swept` keys, else the run's `overrides`) come first."""
    logger.log_hyperparams(full_config(cfg))  # hparams.yaml only (no hp_metric, no summary)
    flat = run_hparams(cfg, overrides)
    experiment, session_start, session_end = hparams(flat, {m: 0.0 for m in COLUMNS})
    mark_differing(experiment, swept or [k for k, _ in overrides])
    writer = FileWriter(logger.log_dir, filename_suffix=".hparams")
    for summary in (experiment, session_start, session_end):
        writer.add_summary(summary)
    writer.close()


class HParamsTable(L.Callback):
    """`log_hparams` once a new run's first step starts (a resumed run has its table already)."""

    def __init__(self, cfg: DictConfig, overrides: list[tuple[str, str]], swept: list[str]):
        self.cfg, self.overrides, self.swept = cfg, overrides, swept

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == 0 and isinstance(trainer.logger, TensorBoardLogger):
            log_hparams(trainer.logger, self.cfg, self.overrides, self.swept)
