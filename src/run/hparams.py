"""Write a run's hyper-parameters to TensorBoard's HPARAMS tab and its full config to hparams.yaml.

HPARAMS shows what tells runs apart: the keys this job changed on the command line (the swept ones
first) and then the course's main knobs; its metric columns are the numbers that matter (FID/KID,
fid_cnn, the final losses, D(x), D(G(z))). The three hparams summaries go into an event file of
their own in the logger's folder (the public `FileWriter`); TensorBoard reads every event file of a
folder as one run, so they sit beside the run's scalars without placeholder values on its curves.
`hparams.yaml` (the logger's own file) gets the whole resolved config.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from tensorboard.plugins.hparams import plugin_data_pb2
from torch.utils.tensorboard.summary import hparams
from torch.utils.tensorboard.writer import FileWriter

from src.metrics.registry import COLUMNS
from src.run.naming import job_overrides, swept_keys

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


def run_hparams(cfg: DictConfig, overrides: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """The job's overridden keys (swept first; `overrides` defaults to this Hydra job's), then the
    KEY_HPARAMS; values as the config resolved them."""
    overrides = job_overrides() if overrides is None else overrides
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
def log_hparams(logger: TensorBoardLogger, cfg: DictConfig) -> None:
    """Declare the run's hparams and the metric columns; the columns fill from the logged scalars.
    The keys that tell runs apart (a sweep's swept keys, else the run's overrides) come first."""
    logger.log_hyperparams(full_config(cfg))  # hparams.yaml only (no hp_metric, no summary)
    overrides = job_overrides()
    flat = run_hparams(cfg, overrides)
    experiment, session_start, session_end = hparams(flat, {m: 0.0 for m in COLUMNS})
    mark_differing(experiment, swept_keys() or [k for k, _ in overrides])
    writer = FileWriter(logger.log_dir, filename_suffix=".hparams")
    for summary in (experiment, session_start, session_end):
        writer.add_summary(summary)
    writer.close()
