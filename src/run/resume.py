"""Continuing a run: where its checkpoint is, whether it fits the model, and the command to redo.

`python -m src.train resume=<run folder or .ckpt> [overrides]` becomes, before Hydra starts, the
run's own saved overrides + the new ones + `hydra.run.dir=<that folder>` + `ckpt_path=<checkpoint>`:
the same config (what is given now wins), written into the same folder, the same TensorBoard run.
A run whose folder already holds `checkpoints/last.ckpt` (a re-queued cluster job started with the
same command) continues from it by itself. The run's saved overrides change only once the resumed
attempt trains (src/run/attempt.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from src.core.errors import ConfigError
from src.generative.checkpoint import checkpoint_class
from src.generative.module import GenerativeModule

log = logging.getLogger(__name__)

LAST = Path("checkpoints") / "last.ckpt"
# replaced by the resumed run's own; a sweep's search is not resumed with one of its jobs
DROPPED_ON_RESUME = ("ckpt_path", "resume", "hydra.run.dir", "hparams_search", "hydra.mode")


def override_key(override: str) -> str:
    """`+experiment=smoke` -> `experiment`; `trainer.max_epochs=4` -> `trainer.max_epochs`."""
    return override.split("=", 1)[0].lstrip("+~")


def run_and_checkpoint(target: str) -> tuple[Path, Path]:
    """(run folder, checkpoint) for resume=<run folder> (its last.ckpt) or resume=<.ckpt file>."""
    path = Path(target)
    if path.is_dir():
        ckpt = path / LAST
        if not ckpt.is_file():
            raise ConfigError(
                f"resume={target!r} holds no {LAST}: give a run folder that saved one, or a .ckpt"
            )
        return path, ckpt
    if path.is_file():
        return path.parent.parent, path  # <run>/checkpoints/<name>.ckpt
    raise ConfigError(f"resume={target!r} does not exist: give a run folder (outputs/runs/<run>) or a .ckpt")


def resume_argv(argv: list[str]) -> list[str]:
    """The command-line overrides with `resume=X` replaced by the resumed run's (see module doc)."""
    targets = [a.split("=", 1)[1] for a in argv if a.startswith("resume=")]
    if not targets or targets[-1] in ("", "null"):
        return [a for a in argv if not a.startswith("resume=")]
    run_dir, ckpt = run_and_checkpoint(targets[-1])
    checkpoint_class(ckpt, "resume", wanted=GenerativeModule)  # a classifier's: one line, what takes it
    given = [a for a in argv if not a.startswith("resume=")]
    saved_file = run_dir / ".hydra" / "overrides.yaml"
    saved = [str(o) for o in (yaml.safe_load(saved_file.read_text()) or [])] if saved_file.is_file() else []
    replaced = {override_key(a) for a in given if "=" in a} | set(DROPPED_ON_RESUME)
    kept = [o for o in saved if override_key(o) not in replaced]
    return [*kept, *given, f"hydra.run.dir={run_dir}", f"ckpt_path={ckpt}"]


def checkpoint_to_resume(ckpt_path: str | None, output_dir: str) -> str | None:
    """ckpt_path when given, else the run folder's own last.ckpt when there is one (a re-queued job)."""
    if ckpt_path:
        return str(ckpt_path)
    last = Path(output_dir) / LAST
    if last.is_file():
        log.info("%s exists: continuing from it", last)
        return str(last)
    return None


def trained_epochs(checkpoint: dict[str, Any]) -> int:
    """Epochs whose batches were all trained when the checkpoint was written. Read from the loops' saved
    progress: the public `epoch` of an epoch-end checkpoint is one behind."""
    total = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {}).get("total", {})
    return max(int(total.get("processed", 0)), int(total.get("completed", 0)))


def check_can_continue(checkpoint: dict[str, Any], max_epochs: int, max_steps: int, ckpt_path: str) -> None:
    """A finished run continues only with a larger budget than it already trained. Kept: Lightning
    itself would train nothing and exit 0 (tests/run/test_lightning_overrides.py)."""
    step, epochs = int(checkpoint.get("global_step", 0)), trained_epochs(checkpoint)
    if max_steps is not None and max_steps >= 0 and step >= max_steps:
        raise ConfigError(
            f"trainer.max_steps={max_steps} but {ckpt_path} has trained {step} steps already: use "
            f"trainer.max_steps > {step} to continue it"
        )
    if (max_steps is None or max_steps < 0) and max_epochs is not None and 0 <= max_epochs <= epochs:
        raise ConfigError(
            f"trainer.max_epochs={max_epochs} but {ckpt_path} has trained {epochs} epochs already: use "
            f"trainer.max_epochs > {epochs} to continue it"
        )
