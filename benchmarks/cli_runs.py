"""The GPU check's training and evaluation runs: `python -m src.train` and `python -m src.evaluate` as a
user runs them, each in a process of its own with a time limit, and what each left behind: its exit
status, its last logged scalars, its score.

A training run's NaN guard is its own (exit status 3, README "When a run stops"): the check reads the
status, it does not look for NaNs itself.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.markdown import ROOT
from src.generative.checkpoint import read_checkpoint
from src.generative.nonfinite import NonFiniteError
from src.report import final_scalars
from src.run.resume import LAST

NONFINITE_EXIT = NonFiniteError.exit_code
STOP_GRACE_S = 15  # after SIGTERM (a run saves its last checkpoint and stops), then SIGKILL
LOSSES = ("loss/d", "loss/g")
SPEED = "perf/images_per_sec"


@dataclass(frozen=True)
class Finished:
    """A process that ended: its exit status (None: stopped at its time limit), time and output files."""

    returncode: int | None
    seconds: float
    stdout: Path
    stderr: Path

    def last_line(self) -> str:
        """The last line on stderr: where a ganlab command puts its one-line error."""
        lines = self.stderr.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output on stderr)"

    def tail(self, n_chars: int = 3000) -> str:
        return self.stderr.read_text(errors="replace")[-n_chars:]


def run_module(module: str, overrides: list[str], logs: Path, timeout_s: float) -> Finished:
    """`python -m <module> <overrides>` from the project root, stdout and stderr into `<logs>.out|.err`.

    It runs in a process group of its own, so at the time limit it and the compile workers it started
    get SIGTERM together (a training run then saves and stops), and SIGKILL after STOP_GRACE_S."""
    logs.parent.mkdir(parents=True, exist_ok=True)
    out, err = logs.with_suffix(".out"), logs.with_suffix(".err")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *overrides],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            returncode = None
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return Finished(returncode, time.monotonic() - started, out, err)


@dataclass(frozen=True)
class TrainResult:
    """A training run: how it ended, the steps in its last checkpoint and its last logged values."""

    finished: Finished
    step: int
    scalars: dict[str, float] = field(default_factory=dict)

    @property
    def failure(self) -> str | None:
        """Why the run does not count as finished with finite losses (None: it does)."""
        code = self.finished.returncode
        if code == NONFINITE_EXIT:
            return f"non-finite: the run's NaN guard stopped it (exit {code}): {self.finished.last_line()}"
        if code is None:
            return f"did not finish: stopped at its time limit after {self.finished.seconds:.0f} s"
        if code != 0:
            return f"failed (exit {code}): {self.finished.last_line()}"
        losses = [self.scalars.get(name) for name in LOSSES]
        if not all(value is not None and math.isfinite(value) for value in losses):
            return f"no finite {' and '.join(LOSSES)} in its TensorBoard events"
        return None

    def losses(self) -> str:
        return ", ".join(f"{name}={self.scalars[name]:.3g}" for name in LOSSES if name in self.scalars)

    def images_per_sec(self) -> float | None:
        return self.scalars.get(SPEED)


def train(run_dir: Path, overrides: list[str], timeout_s: float) -> TrainResult:
    """One `python -m src.train` run written into `run_dir` (its Hydra run folder)."""
    finished = run_module("src.train", [*overrides, f"hydra.run.dir={run_dir}"], run_dir, timeout_s)
    last = run_dir / LAST
    step = int(read_checkpoint(last, mmap=True)["global_step"]) if last.is_file() else 0
    return TrainResult(finished, step, final_scalars(run_dir) if run_dir.is_dir() else {})


@dataclass(frozen=True)
class Score:
    """`src.evaluate`'s JSON line, or why there is none."""

    finished: Finished
    result: dict | None

    @property
    def failure(self) -> str | None:
        if self.result is not None:
            return None
        code = self.finished.returncode
        if code is None:
            return f"evaluation stopped at its time limit after {self.finished.seconds:.0f} s"
        return f"evaluation failed (exit {code}): {self.finished.last_line()}"

    @property
    def reference(self) -> tuple[str, int]:
        """Which real statistics it was scored against: their data checksum and image count."""
        protocol = self.result["protocol"]
        return protocol["data_sha256"], protocol["n_real"]


def evaluate(ckpt: Path, overrides: list[str], logs: Path, timeout_s: float) -> Score:
    finished = run_module("src.evaluate", [f"ckpt_path={ckpt}", *overrides], logs, timeout_s)
    lines = finished.stdout.read_text().strip().splitlines()
    result = None
    if finished.returncode == 0 and lines:
        try:
            result = json.loads(lines[-1])
        except json.JSONDecodeError:
            result = None
    return Score(finished, result)
