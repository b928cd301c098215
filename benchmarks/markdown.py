"""What a result needs to be read later: the machine, the versions, the commit, and Markdown tables."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import lightning
import torch

if TYPE_CHECKING:  # architectures.py imports RowResult from here
    from benchmarks.architectures import Architecture

ROOT = Path(__file__).resolve().parents[1]
# the commit, where the code runs outside a git checkout (a copy of the working tree on a lent machine)
COMMIT_VARIABLE = "GANLAB_COMMIT"
MILLION = 1e6


@dataclass
class RowResult:
    """All runs of one row at one batch size."""

    name: str
    config: str
    precision: str = ""
    images_per_sec: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_sec)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        model = names[0] if names else model
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {model}, {cores} cores usable, {torch.get_num_threads()} torch threads"


def commit() -> str:
    """Short hash of HEAD, with `+uncommitted changes` when tracked files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return outside_git("git not found")
    if head.returncode != 0:
        return outside_git("not a git checkout")
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def outside_git(why: str) -> str:
    """The commit the caller names in $GANLAB_COMMIT (a copy of the working tree has no history)."""
    given = os.environ.get(COMMIT_VARIABLE)
    return f"{given} (from ${COMMIT_VARIABLE}: {why} here)" if given else f"unknown ({why})"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def header(
    device: torch.device, data: str, notes: list[str], title: str = "DCGAN training throughput"
) -> str:
    lines = [
        f"## {title}",
        "",
        f"- date: {now()}",
        f"- device: {device_name(device)}",
        f"- commit: {commit()}",
        f"- versions: torch {torch.__version__}, lightning {lightning.__version__}, "
        f"python {platform.python_version()}",
        f"- command: `python {' '.join(sys.argv)}`",
        f"- data: {data}",
        *(f"- {note}" for note in notes),
    ]
    return "\n".join(lines)


def _number(value: float) -> str:
    return f"{value:,.1f}"


def rows_table(batch_size: int, results: list[RowResult]) -> str:
    """One row per loop; the first is the reference the others are divided by."""
    reference = results[0].median
    lines = [
        f"### batch size {batch_size}",
        "",
        "| loop | config | precision | images/s (median) | min - max | vs reference |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in results:
        spread = f"{_number(min(r.images_per_sec))} - {_number(max(r.images_per_sec))}"
        cells = [r.name, r.config, r.precision, _number(r.median), spread, f"{r.median / reference:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scaling_table(by_batch: dict[int, list[RowResult]]) -> str:
    """Median images/s per batch size, each loop's ratio to the reference beside it."""
    names = [r.name for r in next(iter(by_batch.values()))]
    head = ["batch", f"{names[0]} images/s"]
    for name in names[1:]:
        head += [f"{name} images/s", f"{name} vs reference"]
    lines = ["### scaling with the batch size", "", "| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for batch_size, results in by_batch.items():
        reference = results[0].median
        cells = [str(batch_size), _number(reference)]
        for r in results[1:]:
            cells += [_number(r.median), f"{r.median / reference:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def architectures_table(batch_size: int, results: list[tuple[Architecture, RowResult]]) -> str:
    """One row per `model=`, its nets' sizes beside its speed; the first row (dcgan) is the reference."""
    reference = results[0][1].median
    lines = [
        f"### architectures, batch size {batch_size}",
        "",
        "| architecture | G parameters (M) | D parameters (M) | D steps per batch | precision "
        "| images/s (median) | min - max | vs dcgan |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for arch, r in results:
        spread = f"{_number(min(r.images_per_sec))} - {_number(max(r.images_per_sec))}"
        cells = [
            f"`{arch.name}`",
            f"{arch.g_params / MILLION:.3g}",
            f"{arch.d_params / MILLION:.3g}",
            str(arch.n_critic),
            r.precision,
            _number(r.median),
            spread,
            f"{r.median / reference:.2f}x",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
