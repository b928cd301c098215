"""What every measured row shares: the run description, the result, and syncs at two points only
(src.run.entry.sync_device)."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from src.core.device import sync_device


@dataclass(frozen=True)
class RunSpec:
    """One timed run. Every row gets the same one, so rows differ only in the loop they time."""

    device: torch.device
    batch_size: int
    steps: int  # timed steps (batches: one D step then one G step each)
    warmup: int  # steps run before the clock starts (compilation, cuDNN autotuning, worker start-up)
    data_dir: Path  # the folder that contains cifar-10-batches-py/
    workers: int  # DataLoader worker processes of the plain loop
    tiny: bool  # tiny nets, for tests


@dataclass(frozen=True)
class Timing:
    images: int  # real images through full D+G steps inside the timed region
    seconds: float
    precision: str

    @property
    def images_per_sec(self) -> float:
        return self.images / self.seconds


class Stopwatch:
    """Wall time between `start()` and `stop()`, each preceded by a device sync."""

    def __init__(self, device: torch.device):
        self.device = device
        self.started: float | None = None
        self.stopped: float | None = None

    def start(self) -> None:
        sync_device(self.device)
        self.started = time.perf_counter()

    def stop(self) -> None:
        sync_device(self.device)
        self.stopped = time.perf_counter()

    @property
    def seconds(self) -> float:
        if self.started is None or self.stopped is None:
            raise RuntimeError("the timed region was never entered or never left: too few steps ran")
        return self.stopped - self.started


@contextmanager
def isolated_run() -> Iterator[None]:
    """Each run starts like a fresh process would.

    Rows must not leak global settings into each other (the fast preset turns on TF32 matmuls and
    cudnn.benchmark, the plain loop cudnn.benchmark, as pytorch/examples does), and torch.compile
    must not carry graphs over: after a second batch size it would switch to dynamic-shape kernels,
    which a real run, with one fixed batch shape, never uses.
    """
    torch._dynamo.reset()
    saved = (
        torch.get_float32_matmul_precision(),
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.are_deterministic_algorithms_enabled(),
    )
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(saved[0])
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[1], saved[2]
        torch.use_deterministic_algorithms(saved[3])
        gc.collect()  # the run's nets, optimizers and data go now, not during the next run
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def measure_interleaved(
    spec: RunSpec, measured: list[tuple[Any, Callable[[RunSpec], Timing]]], repeats: int
) -> None:
    """`repeats` runs of each (result, measure) pair, interleaved so drift hits all alike; each timing
    is appended to its result (a RowResult) and said on stderr."""
    for repeat in range(repeats):
        for result, measure in measured:
            with isolated_run():
                timing = measure(spec)
            result.precision = timing.precision
            result.images_per_sec.append(timing.images_per_sec)
            print(
                f"batch {spec.batch_size}, run {repeat + 1}/{repeats}, {result.name}: "
                f"{timing.images_per_sec:,.1f} images/s",
                file=sys.stderr,
                flush=True,
            )
