"""One attempt at a run: the folders it made, the lock it holds, and the moment it takes the run over.

Nothing in a run folder changes until the attempt has trained one step (`take_over`, called by
src/callbacks/run_start.py): only then are the run's record (`.hydra/`), its log, its `status.json` and
its TensorBoard hyper-parameters written. An attempt that is refused, fails or is stopped before that
leaves every file as it was, and the folders it made itself (a new run folder, `outputs/runs/`) are
removed again. Hydra writes nothing on its own: `hydra.output_subdir` is null and the job log is held
in memory (`HeldFileHandler`, conf/hydra/default.yaml) until the take-over.

One process per run folder: `RunLock` is an flock on `<run>/.lock`, released by the kernel when its
process ends, so the lock of a killed process is simply free again. The holder is read from
/proc/locks, so the lock file is never written.
"""

from __future__ import annotations

import contextlib
import errno
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
from omegaconf import DictConfig, OmegaConf

from src.core.errors import GanlabError
from src.core.files import remove_stale_temp_files, write_atomically

log = logging.getLogger(__name__)

LOCK_FILE, STATUS_FILE, RECORD_DIR = ".lock", "status.json", ".hydra"
_made: dict[Path, bool] = {}  # folders this process created, parents first -> whether all of it is ours
_claimed: set[Path] = set()  # ... and those an attempt took over (kept whatever happens next)


def note_made(path: Path) -> None:
    """`path` and its missing parents are about to be created by this process."""
    path = Path(path).absolute()
    for folder in reversed([path, *path.parents]):
        if not folder.exists() and folder not in _made:
            _made[folder] = False


def all_ours(path: Path) -> None:
    """This process made `path` with an exclusive mkdir, or made and locked it: no one else is in it."""
    _made[Path(path).absolute()] = True


def claim(path: Path) -> None:
    """The attempt took `path` over: it stays, with its parents, whatever happens next."""
    path = Path(path).absolute()
    _claimed.update([path, *path.parents])


def claimed(path: Path) -> bool:
    return Path(path).absolute() in _claimed


def remove_unclaimed() -> None:
    """Remove what this process made for a start that never took it over: a folder that is all ours
    with its contents (all written by this process), any other only when empty; deepest first."""
    for folder, ours in reversed(list(_made.items())):
        if folder in _claimed or not folder.is_dir():
            continue
        if ours:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                folder.rmdir()
    _made.clear()


class NoteRunFolder(Callback):
    """A Hydra callback: before Hydra makes a single run's folder, note whether this process makes it."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        # a folder that cannot be made: Hydra meets the same error next, and it is said then
        with contextlib.suppress(Exception):
            note_made(Path(str(config.hydra.run.dir)))


class HeldFileHandler(logging.FileHandler):
    """Hydra's job log file, held in memory until the attempt takes its folder over (`write_held`)."""

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


def is_rank_zero() -> bool:
    """Rank 0 of a multi-process run, known from the environment before Lightning starts."""
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "SLURM_PROCID", "NODE_RANK"))


class RunInUse(GanlabError):
    """Another live process holds the run folder."""


def lock_holder(lock_file: Path) -> str:
    """`process N (its command line)` holding an flock on `lock_file`, from /proc/locks (Linux)."""
    try:
        inode = lock_file.stat().st_ino
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
                pid = fields[4]
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                return f"process {pid} ({command[:120]})"
    except OSError:
        pass
    return "another process"


def holder_if_locked(run_dir: Path) -> str | None:
    """Who holds the run folder's lock now (None when no live process does); never creates the file."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return lock_holder(path)
    finally:
        os.close(fd)  # (closing also drops a shared lock we took)
    return None


class RunLock:
    """An exclusive flock on `<run>/.lock`, or RunInUse naming the process that holds it."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None
        self.made_file = False

    def acquire(self) -> RunLock:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                self.made_file = True
            except FileExistsError:
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # removed between the two calls: try again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise RunInUse(
                    f"{self.path.parent} is in use by {lock_holder(self.path)}: wait for it to end or stop "
                    "it; one process trains into a run folder at a time"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return self
            os.close(fd)  # the file was replaced while we waited: lock the new one

    def release(self, keep_file: bool) -> None:
        if self.fd is None:
            return
        if self.made_file and not keep_file:
            self.path.unlink(missing_ok=True)  # while still held: no one else can hold the old file
        os.close(self.fd)
        self.fd = None


def hydra_record(cfg: DictConfig) -> dict[str, str]:
    """What Hydra would have written into `.hydra/`: the (unresolved) config, Hydra's own config and
    the command-line overrides. Taken when the attempt starts, written when it takes the run over."""
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
    """This process's attempt at the run in `run_dir`: rank 0 locks the folder (`lock`) and, once the
    first step has trained, takes the run over (`take_over`) and records its end (`end`)."""

    def __init__(self, run_dir: Path, cfg: DictConfig):
        self.run_dir = Path(run_dir)
        self.record = hydra_record(cfg)
        self.lock = RunLock(self.run_dir)
        self.taken_over = False
        self.steps: int | None = None

    def acquire(self) -> Attempt:
        if is_rank_zero():
            note_made(self.run_dir)  # (Hydra makes it; a config built without Hydra may not have)
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
            if self.run_dir.absolute() in _made:
                all_ours(self.run_dir)  # made here and locked
        return self

    def take_over(self, start_step: int, steps: int | None, before: Any = None) -> None:
        """The attempt trained a step: write the run's record, log and status (rank 0), then `before`."""
        self.taken_over, self.steps = True, steps
        claim(self.run_dir)
        release_log()
        if not is_rank_zero():
            return
        write_record(self.run_dir, self.record)
        remove_stale_temp_files(self.run_dir / "checkpoints")
        write_status(
            self.run_dir,
            state="running",
            step=start_step,
            steps=steps,
            pid=os.getpid(),
            host=socket.gethostname(),
            started=time.strftime("%Y-%m-%d %H:%M:%S"),
        )

    def end(self, state: str, step: int, reason: str | None = None) -> None:
        """Record how the attempt ended (finished, stopped, diverged, failed), if it took the run over."""
        if self.taken_over and is_rank_zero():
            fields = {"state": state, "step": step, "steps": self.steps, "pid": os.getpid()}
            write_status(self.run_dir, **fields, **({"reason": reason} if reason else {}))

    def release(self) -> None:
        self.lock.release(keep_file=self.taken_over)
