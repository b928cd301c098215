"""`resume=<run folder or .ckpt>`: before Hydra starts, the run's own saved overrides + the new ones +
`hydra.run.dir=<that folder>` + `ckpt_path=<checkpoint>`."""

from __future__ import annotations

import logging
from pathlib import Path

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
