"""The one line for an error that Hydra, Lightning, Optuna or the OS raise at a user's input.

ganlab's own errors are one line already (src/core/errors.py). What others raise is turned into one
line here, at the entry point: a config group option or a key that does not exist (with Hydra's list
of choices and a "did you mean"), an override Hydra cannot parse, a Trainer setting Lightning refuses,
a target that cannot be built, a file or folder the OS refuses. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Callable, Iterable

from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from src.core.errors import ConfigError, GanlabError, first_line, user_error


class SweepFailed(GanlabError):
    exit_code = 1  # as a sweep with failed jobs (src/run/sweep.py)


OS_REASONS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only"}


def did_you_mean(word: str, choices: Iterable[str], prefix: str = "") -> str:
    """`: did you mean <prefix><closest choice>?`, or the empty string when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f": did you mean {prefix}{close[0]}?" if close else ""


def causes(exc: BaseException) -> list[BaseException]:
    chain, seen = [], exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def one_line_error(
    exc: BaseException, keys_of: Callable[[str], list[str]] | None = None
) -> GanlabError | None:
    """The user error behind `exc`, as one line (None for a bug). `keys_of(key)` lists the dotted keys of
    the config without an unknown `key`, for its "did you mean"."""
    found = user_error(exc)
    if found is not None:
        return found
    chain = causes(exc)
    for err in chain:
        if isinstance(err, MissingConfigException) and err.options is not None and err.missing_cfg_file:
            group, _, name = err.missing_cfg_file.rpartition("/")
            suggestion = did_you_mean(name, err.options, f"{group}=")
            return ConfigError(f"{group}={name} is unknown{suggestion} (choices: {', '.join(err.options)})")
        if isinstance(err, (ConfigKeyError, ConfigAttributeError)) and isinstance(
            exc, ConfigCompositionException
        ):
            key = str(getattr(err, "full_key", "") or "")
            parent, _, name = key.rpartition(".")
            paths = keys_of(key) if keys_of else []
            siblings = [p for p in paths if p.rpartition(".")[0] == parent]
            elsewhere = {}  # a key given at the wrong level: the shallowest place it exists
            for path in sorted(paths, key=lambda p: p.count(".")):
                elsewhere.setdefault(path.rpartition(".")[2], path)
            hint = did_you_mean(key, siblings) or (
                f": did you mean {elsewhere[name]}?" if name in elsewhere else f" (a new key: +{key}=...)"
            )
            return ConfigError(f"{key} is not a setting{f' of {parent}' if parent else ''}{hint}")
        if isinstance(err, OverrideParseException):
            message = " ".join(str(err).split("\n")[:2]).strip()
            return ConfigError(
                f"{message} (overrides are key=value: https://hydra.cc/docs/advanced/override_grammar/basic)"
            )
        if isinstance(err, ValueError) and str(err) == "No trials are completed yet.":  # Optuna, at the end
            return SweepFailed(
                "every trial of the search failed: see failure.txt in each job folder, or "
                "python -m src.report <sweep folder>"
            )
        if isinstance(err, MisconfigurationException):
            return ConfigError(f"the trainer refused a setting: {first_line(err)}")
        if isinstance(err, OSError) and err.errno is not None:
            reason = OS_REASONS.get(err.errno, err.strerror or type(err).__name__)
            where = err.filename or "a file"
            return ConfigError(f"cannot use {where}: {reason} (check the folder given, e.g. paths.log_dir)")
    if isinstance(exc, (ConfigCompositionException, InstantiationException)):
        return ConfigError(" ".join(str(exc).split()))  # Hydra's few lines (target, cause, key) as one
    return None
