"""The one line for an error that Hydra, Lightning, Optuna or the OS raise at a user's input: an unknown
config option or key (with Hydra's choices and a "did you mean"), an override Hydra cannot parse, a
setting the Trainer refuses, a folder the OS refuses. Anything else is a bug and keeps its traceback."""

from __future__ import annotations

import errno
import re

from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue

from src.core.checks import did_you_mean
from src.core.errors import ConfigError, GanlabError, first_line, user_error

OS_REASONS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only"}


def dotted_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """Every key of a config, dotted, read without resolving anything (Hydra's own node skipped)."""
    found = []
    for k in node:
        found.append(f"{prefix}{k}")
        if k != "hydra" and not OmegaConf.is_interpolation(node, k) and isinstance(node[k], DictConfig):
            found += dotted_keys(node[k], f"{prefix}{k}.")
    return found


def unknown_key(key: str, paths: list[str]) -> ConfigError:
    """`key` is not in the config: the closest key beside it, or where a key of that name does live."""
    parent, _, name = key.rpartition(".")
    hint = did_you_mean(key, [p for p in paths if p.rpartition(".")[0] == parent])
    elsewhere = [p for p in sorted(paths, key=lambda p: p.count(".")) if p.rpartition(".")[2] == name]
    hint = hint or (f" (did you mean {elsewhere[0]}?)" if elsewhere else " (--cfg job prints every setting)")
    return ConfigError(f"{key} is not a setting{f' of {parent}' if parent else ''}{hint}")


def one_line_error(exc: BaseException) -> GanlabError | None:
    """The user error behind `exc`, as one line (None for a bug)."""
    found = user_error(exc)
    seen: BaseException | None = exc
    while found is None and seen is not None:
        if isinstance(seen, MissingConfigException) and seen.options is not None and seen.missing_cfg_file:
            group, _, name = seen.missing_cfg_file.rpartition("/")
            hint = did_you_mean(name, seen.options).replace("mean ", f"mean {group}=")
            return ConfigError(f"{group}={name} is unknown{hint}: use one of {', '.join(seen.options)}")
        if isinstance(seen, (ConfigKeyError, ConfigAttributeError)) and isinstance(
            exc, ConfigCompositionException
        ):
            root = seen.parent_node._get_root() if seen.parent_node is not None else None
            return unknown_key(str(seen.full_key), dotted_keys(root) if isinstance(root, DictConfig) else [])
        if isinstance(seen, MissingMandatoryValue):  # a `???` in conf/ the command line must fill
            return ConfigError(f"{seen.full_key} is not set: use {seen.full_key}=...")
        if isinstance(seen, OverrideParseException):
            return ConfigError(
                f"{' '.join(str(seen).split(chr(10))[:2]).strip()} (overrides are key=value: https://hydra.cc/docs/advanced/override_grammar/basic)"
            )
        if isinstance(seen, ValueError) and str(seen) == "No trials are completed yet.":  # Optuna, at the end
            failed = GanlabError("every trial of the search failed: see failure.txt in each job folder")
            failed.exit_code = 1  # as a sweep with failed jobs (src/run/sweep.py)
            return failed
        if isinstance(seen, (MisconfigurationException, ValueError)) and isinstance(
            exc, InstantiationException
        ):  # what a library (Lightning's Trainer) refuses, in its own words
            where = re.search(r"full_key: (\S+)", str(exc))
            return ConfigError(f"{where.group(1) if where else 'config'}: {first_line(seen)}")
        if isinstance(seen, OSError) and seen.errno is not None:
            reason = OS_REASONS.get(seen.errno, seen.strerror or type(seen).__name__)
            return ConfigError(f"cannot use {seen.filename or 'a file'}: {reason} (check the folder given)")
        seen = seen.__cause__ or seen.__context__
    if found is None and isinstance(exc, (ConfigCompositionException, InstantiationException)):
        return ConfigError(" ".join(str(exc).split()))  # Hydra's few lines (target, cause, key) as one
    return found
