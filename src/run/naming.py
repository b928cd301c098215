"""Run and sweep-job folder names: `<time>_<experiment or task>[_<overrides>]` and `<n>_<swept keys
first>`, keys shortened to their last part when unambiguous, items `key:value` joined by `+` (Hydra's
`key=value,...` could not be given back as a path on the command line)."""

from __future__ import annotations

import contextlib
import re
import sys

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser

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
    """The keys this sweep varies, in command-line order: the command line's sweep overrides
    (`key=a,b`, `range(...)`, ...), then the sweeper's `params` (experiment files such as mlp_vs_dcgan)."""
    keys: list[str] = []
    with contextlib.suppress(Exception):  # not inside a Hydra job, or an argument it cannot parse here
        args = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
        parsed = OverridesParser.create().parse_overrides(args)
        keys += [o.get_key_element().lstrip("+~") for o in parsed if o.is_sweep_override()]
        keys += [k for k in HydraConfig.get().sweeper.get("params") or {} if k not in keys]
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
    task = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    items = [tuple(o.split("=", 1)) for o in task if "=" in o]
    return _ordered([(k.lstrip("+~"), v) for k, v in items], swept_keys())  # type: ignore[arg-type]
