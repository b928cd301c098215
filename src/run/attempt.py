"""One attempt at a run: the folders it made, the lock it holds, the moment it takes the run over.

Nothing in a run folder changes before the first training step: then `take_over` writes the run's
record (`.hydra/`), its log (held in memory until then by `HeldFileHandler`) and `status.json`. A start
that never gets there leaves every file as it was, and the folders it made are removed again. One
process per run folder: an flock on `<run>/.lock`, freed by the kernel when its process ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from src.core.errors import GanlabError
from src.core.files import remove_stale_temp_files, write_atomically

LOCK_FILE, STATUS_FILE, RECORD_DIR = ".lock", "status.json", ".hydra"
_made: dict[Path, bool] = {}  # folders this process created (parents first) -> all of it is ours
_claimed: set[Path] = set()  # ... and those an attempt took over: kept whatever happens next


def note_made(path: Path) -> None:
    """`path` and its missing parents are about to be created by this process."""
    path = Path(path).absolute()
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            _made.setdefault(folder, False)


def all_ours(path: Path) -> None:
    """This process made `path` with an exclusive mkdir, or made and locked it: no one else is in it."""
    _made[Path(path).absolute()] = True


def claim(path: Path) -> None:
    path = Path(path).absolute()
    _claimed.update([path, *path.parents])


def claimed(path: Path) -> bool:
    return Path(path).absolute() in _claimed


def remove_unclaimed() -> None:
    """Remove, deepest first, what this process made for a start that never took it over: a folder all
    of whose contents are ours whole, any other only when empty."""
    for folder, ours in reversed(list(_made.items())):
        if folder in _claimed or not folder.is_dir():
            continue
        if ours:
            shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
    _made.clear()


class NoteRunFolder(Callback):
    """A Hydra callback: before Hydra makes a single run's folder, note whether this process makes it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        with contextlib.suppress(Exception):  # a folder that cannot be made: Hydra says so next
            note_made(Path(str(config.hydra.run.dir)))


class HeldFileHandler(logging.FileHandler):
    """Hydra's job log file, held in memory until the attempt takes its folder over."""

    def __init__(self, filename: str, mode: str = "a", encoding: str | None = None, delay: bool = True):
        super().__init__(filename, mode, encoding, delay=True)
        self.held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.held is None:
            super().emit(record)
        else:
            self.held.append(record)

    def write_held(self) -> None:  # (not `release`: that is logging.Handler's lock)
        held, self.held = self.held or [], None
        for record in held:
            super().emit(record)


def release_log() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, HeldFileHandler):
            handler.write_held()


class RunInUse(GanlabError):
    """Another live process holds the run folder."""


def lock_holder(run_dir: Path) -> str | None:
    """`process N (its command line)` that holds the run folder's lock now, from /proc/locks (Linux);
    None when no live process does."""
    with contextlib.suppress(OSError):
        inode = str((Path(run_dir) / LOCK_FILE).stat().st_ino)
        for fields in (line.split() for line in Path("/proc/locks").read_text().splitlines()):
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == inode:
                command = Path(f"/proc/{fields[4]}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                return f"process {fields[4]} ({command.strip()[:120]})"
    return None


class RunLock:
    """An exclusive flock on `<run>/.lock`, or RunInUse naming the process that holds it."""

    def __init__(self, run_dir: Path):
        self.path, self.fd, self.made_file = Path(run_dir) / LOCK_FILE, None, False

    def acquire(self) -> RunLock:
        while True:
            try:
                fd, self.made_file = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
            except FileExistsError:
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # removed in between: try again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunInUse(
                    f"{self.path.parent} is in use by {lock_holder(self.path.parent) or 'another process'}: "
                    "wait for it to end or stop it; one process trains into a run folder at a time"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:  # not replaced while we waited
                    self.fd = fd
                    return self
            os.close(fd)

    def release(self, keep_file: bool) -> None:
        if self.fd is not None:
            if self.made_file and not keep_file:
                self.path.unlink(missing_ok=True)  # while still held: no one else holds the old file
            os.close(self.fd)
            self.fd = None


def hydra_record(cfg: DictConfig) -> dict[str, str]:
    """What Hydra would have written into `.hydra/`: the (unresolved) config, Hydra's own and the
    command-line overrides; taken when the attempt starts, written when it takes the run over."""
    if not HydraConfig.initialized():
        return {}
    hydra_cfg = HydraConfig.instance().cfg
    return {
        "config.yaml": OmegaConf.to_yaml(cfg),
        "hydra.yaml": OmegaConf.to_yaml(hydra_cfg),
        "overrides.yaml": OmegaConf.to_yaml(hydra_cfg.hydra.overrides.task),
    }


def write_record(run_dir: Path, record: dict[str, str]) -> None:
    for name, text in record.items():
        write_atomically(text, Path(run_dir) / RECORD_DIR / name)


def write_status(run_dir: Path, **fields: Any) -> None:
    """`status.json`: what became of the run's latest attempt that trained (read by src.report)."""
    write_atomically(json.dumps(fields, indent=1), Path(run_dir) / STATUS_FILE)


def read_status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


class Attempt:
    """This process's attempt at the run in `run_dir` (a context manager): rank 0 locks the folder;
    once the first step starts it takes the run over (`take_over`) and records how it ended (`end`)."""

    def __init__(self, run_dir: Path, cfg: DictConfig):
        self.run_dir, self.record = Path(run_dir), hydra_record(cfg)
        self.lock, self.taken_over, self.steps = RunLock(self.run_dir), False, None

    def __enter__(self) -> Attempt:
        if rank_zero_only.rank == 0:
            note_made(self.run_dir)  # (Hydra makes it; a config built without Hydra may not have)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
            if self.run_dir.absolute() in _made:
                all_ours(self.run_dir)  # made here and locked
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release(keep_file=self.taken_over)

    def take_over(self, start_step: int, steps: int | None) -> None:
        """The first step starts: from now on the run folder is this attempt's (all ranks call it)."""
        self.taken_over, self.steps = True, steps
        claim(self.run_dir)
        release_log()
        if rank_zero_only.rank == 0:
            write_record(self.run_dir, self.record)
            remove_stale_temp_files(self.run_dir / "checkpoints")
            write_status(
                self.run_dir, state="running", step=start_step, steps=steps, pid=os.getpid(),
                host=socket.gethostname(), started=time.strftime("%Y-%m-%d %H:%M:%S"),
            )  # fmt: skip

    def end(self, state: str, step: int, reason: str | None = None) -> None:
        """How the attempt ended (finished, stopped, diverged, failed), if it took the run over."""
        if self.taken_over and rank_zero_only.rank == 0:
            extra = {"reason": reason} if reason else {}
            write_status(self.run_dir, state=state, step=step, steps=self.steps, pid=os.getpid(), **extra)
