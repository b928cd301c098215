"""Checkpoint files are replaced whole or not at all; a full disk is one line and leaves no temp file."""

from __future__ import annotations

import errno
import os

import pytest

from src.core import files as atomic_io
from src.core.files import TMP_PREFIX, DiskFullError, remove_stale_temp_files, write_atomically


def test_write_replaces_the_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "ckpt" / "last.ckpt"
    write_atomically(b"old", path)
    write_atomically(b"new", path)
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_a_full_disk_keeps_the_previous_file_and_names_the_folder(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    write_atomically(b"good", path)

    def full(fd: int) -> None:  # the data reaches the disk at fsync: that is where ENOSPC shows
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_io.os, "fsync", full)
    with pytest.raises(DiskFullError) as err:
        write_atomically(b"new and larger", path)
    assert str(err.value).startswith(f"the disk holding {tmp_path} is full") and "\n" not in str(err.value)
    assert path.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


def test_only_temp_files_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / f"{TMP_PREFIX}last.ckpt-999999999"  # no such process
    live = tmp_path / f"{TMP_PREFIX}last.ckpt-{os.getppid()}"  # a process that is alive
    for p in (dead, live):
        p.write_bytes(b"partial")
    remove_stale_temp_files(tmp_path)
    assert not dead.exists() and live.exists()
