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

import lightning
import torch

ROOT = Path(__file__).resolve().parents[1]


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
        return "unknown (git not found)"
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def header(device: torch.device, data: str, notes: list[str]) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## DCGAN training throughput",
        "",
        f"- date: {now}",
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
