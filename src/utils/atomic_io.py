"""Checkpoint files written so that a kill or a full disk never leaves a broken one under its name.

Lightning's own save writes a temporary file in $TMPDIR and moves it: across file systems the move
is a copy, so a kill mid-copy leaves a truncated `.ckpt` under its final name and a full-size temp
file behind. Here the temporary file sits in the checkpoint's own folder (same file system), is
flushed and fsynced, and replaces the old file with one `os.replace`; the folder is fsynced too.
Until that rename, the previous checkpoint stays complete. A failed write removes its temp file.
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from src.utils.errors import GanlabError

TMP_PREFIX = ".tmp-"  # temp files of a save in progress: `.tmp-<name>-<pid>`; stale ones are removed


class DiskFullError(GanlabError):
    """A checkpoint could not be written because its file system is full."""

    keeps_last_checkpoint = True  # no second try at the stop: the disk is still full


def write_atomically(data: bytes, path: Path) -> None:
    """Write `data` to `path` through a fsynced temp file in the same folder and one rename."""
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


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint IO with `write_atomically` instead of its $TMPDIR transaction."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        write_atomically(buffer.getbuffer(), Path(path))
