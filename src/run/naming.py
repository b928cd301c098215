"""Names of run and sweep-job folders, and which keys a job changed: what TensorBoard shows first.

A run folder says what ran: `<time>_<experiment or task>[_<overrides>]`, e.g.
`2026-12-02_15-30-00_lr_half_latent_dim:50`; a sweep job's folder puts the swept keys first,
`3_latent_dim:256+lr_g:0.0001`, so the value that differs is what a TensorBoard card shows before
it cuts the name. Keys are shortened to their last part when that stays unambiguous. `key:value`
items joined by `+` (not Hydra's `key=value,...`): a path with `=` or `,` could not be given back
on the command line (`python -m src.evaluate ckpt_path=<job>/checkpoints/last.ckpt`); for the same
reason any other character but letters, digits and `._-@` in a value becomes `-`.
"""

from __future__ import annotations

import re
import sys
from typing import Any

KV_SEP, ITEM_SEP = ":", "+"
_UNSAFE = re.compile(r"[^\w.@-]")
MAX_NAME = 80  # characters of overrides in a folder name (the full list is in .hydra/overrides.yaml)
CUT = "..."  # ends a shortened name; Hydra's grammar reads it in a plain value (a `~` it refuses)
EXPERIMENT_KEYS = ("+experiment", "experiment", "++experiment")
# an override list as Hydra joins it (item_sep ","): split before each `key=`, never inside a value
_ITEM_START = re.compile(r",(?=[+~]{0,2}[A-Za-z_][\w./@-]*=)")


def split_overrides(joined: str) -> list[tuple[str, str]]:
    items = [item for item in _ITEM_START.split(joined) if item]
    return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in items]  # type: ignore[misc]


def short_keys(keys: list[str]) -> dict[str, str]:
    """`model.latent_dim` -> `latent_dim`, unless two keys would end the same."""
    last = [k.lstrip("+~").rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k.lstrip("+~")) for k, s in zip(keys, last)}


def swept_keys() -> list[str]:
    """The keys this sweep varies, in command-line order: sweep overrides of the command line
    (`key=a,b`, `range(...)`, ...) and the sweeper's `params` (experiment files such as mlp_vs_dcgan)."""
    keys: list[str] = []
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.override_parser.overrides_parser import OverridesParser

        args = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
        for override in OverridesParser.create().parse_overrides(args):
            if override.is_sweep_override():
                keys.append(override.get_key_element().lstrip("+~"))
        params = HydraConfig.get().sweeper.get("params") or {}
        keys += [k for k in params if k not in keys]
    except Exception:  # not inside a Hydra job, or an argument Hydra cannot parse here
        pass
    return keys


def _ordered(items: list[tuple[str, str]], first: list[str]) -> list[tuple[str, str]]:
    rank = {k: i for i, k in enumerate(first)}
    return sorted(items, key=lambda kv: rank.get(kv[0].lstrip("+~"), len(rank)))


def _joined(items: list[tuple[str, str]]) -> str:
    names = short_keys([k for k, _ in items])
    text = ITEM_SEP.join(f"{names[k]}{KV_SEP}{_UNSAFE.sub('-', v)}" for k, v in items)
    return text if len(text) <= MAX_NAME else text[: MAX_NAME - len(CUT)] + CUT


def run_name(task_name: str, override_dirname: str) -> str:
    """`<experiment or task>[_<short overrides>]` for a single run's folder."""
    items = split_overrides(override_dirname)
    experiment = [v for k, v in items if k in EXPERIMENT_KEYS]
    if experiment and task_name == "train":  # an experiment that does not name itself
        task_name = experiment[0]
    rest = [(k, v) for k, v in items if k not in EXPERIMENT_KEYS]
    return f"{task_name}_{_joined(rest)}" if rest else task_name


def job_name(override_dirname: str) -> str:
    """A sweep job's overrides, the swept keys first, shortened."""
    items = [(k, v) for k, v in split_overrides(override_dirname) if k not in EXPERIMENT_KEYS]
    return _joined(_ordered(items, swept_keys())) or "default"


def job_overrides() -> list[tuple[str, str]]:
    """This job's command-line overrides (key, value), the swept keys first; [] outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        task: Any = HydraConfig.get().overrides.task
    except Exception:
        return []
    items = [tuple(o.split("=", 1)) for o in task if "=" in o]
    return _ordered([(k.lstrip("+~"), v) for k, v in items], swept_keys())  # type: ignore[arg-type]
