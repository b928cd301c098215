"""The one writer of every file that must be whole or absent: a fsynced temp file in the target's
folder, then one `os.replace`, so a kill or a full disk never leaves a broken file under its name."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import torch

from src.core.errors import GanlabError

TMP_PREFIX = ".tmp-"  # temp files of a save in progress: `.tmp-<name>-<pid>`; stale ones are removed


class DiskFullError(GanlabError):
    """A file could not be written because its file system is full."""

    keeps_last_checkpoint = True  # no second try at the stop: the disk is still full


def write_atomically(data: bytes | str, path: Path) -> None:
    """Write `data` (text as UTF-8) to `path`: a fsynced temp file in the same folder, one rename."""
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{path.name}-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(
                f"the disk holding {path.parent} is full: {path.name} was not written (the previous one "
                "is intact); free some space and resume the run"
            ) from None
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def remove_stale_temp_files(folder: Path) -> None:
    """Temp files left by a process that was killed while saving (never one of a live save)."""
    for tmp in folder.glob(f"{TMP_PREFIX}*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def save_atomically(obj: Any, path: Path) -> None:
    """`torch.save(obj)` into `path`, whole or not at all."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_atomically(buffer.getbuffer(), path)
