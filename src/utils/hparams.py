"""Write a run's config to TensorBoard's HPARAMS tab, so runs of a sweep compare in one table.

The three hparams summaries go into an event file of their own in the logger's folder (the public
`FileWriter` of torch.utils.tensorboard); TensorBoard reads every event file of a folder as one run,
so they sit beside the run's scalars without writing placeholder values into its curves.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf
from torch.utils.tensorboard.summary import hparams
from torch.utils.tensorboard.writer import FileWriter

# Scalars shown as columns next to each run's hyper-parameters (their last logged value).
HPARAM_METRICS = ("loss/d", "loss/g", "D(x)", "D(G(z))", "metrics/fid", "metrics/kid")
HPARAM_GROUPS = ("model", "data", "trainer")


def flatten(cfg: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (int, float, str, bool)):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


def run_hparams(cfg: DictConfig) -> dict[str, Any]:
    """The user-settable numbers of a run (model, data, trainer), flattened, plus the seed."""
    plain = OmegaConf.to_container(cfg, resolve=True)
    flat = {"seed": plain.get("seed")}
    for group in HPARAM_GROUPS:
        flat.update(flatten(plain.get(group) or {}, group + "."))
    return {k: v for k, v in flat.items() if not k.endswith("_target_") and v is not None}


@rank_zero_only
def log_hparams(logger: TensorBoardLogger, cfg: DictConfig) -> None:
    """Declare the run's hparams and the metric columns; the columns fill from the logged scalars."""
    experiment, session_start, session_end = hparams(run_hparams(cfg), {m: 0.0 for m in HPARAM_METRICS})
    writer = FileWriter(logger.log_dir, filename_suffix=".hparams")
    for summary in (experiment, session_start, session_end):
        writer.add_summary(summary)
    writer.close()
