"""`throughput.py --profile`: torch.profiler over a few steps of a ganlab config after warm-up.

Prints the operators/kernels that take the most time and how much of the profiled wall time the
device spent in kernels: far below 100% on a GPU means the loop waits on the host (Python,
launches, data), which is what compile, fused optimizers and larger batches remove.
"""

from __future__ import annotations

import lightning as L
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from benchmarks.lightning_run import fit_with, the_callback
from benchmarks.step_window import StepWindow
from benchmarks.timing import RunSpec

TOP_ROWS = 15
US_PER_S = 1e6
# on CPU, the work itself: ATen operators and the kernels of compiled graphs; the rest is Python and framework
CPU_COMPUTE_PREFIXES = ("aten::", "## Call CompiledFxGraph")


class ProfileWindow(StepWindow):
    """torch.profiler on from the start of batch `start_step` to the end of batch `end_step - 1`."""

    profiler: profile | None = None

    def enter(self, pl_module: L.LightningModule) -> None:
        activities = [ProfilerActivity.CPU]
        if pl_module.device.type == "cuda":
            activities.append(ProfilerActivity.CUDA)
        self.profiler = profile(activities=activities)
        self.profiler.__enter__()

    def leave(self, pl_module: L.LightningModule) -> None:
        self.profiler.__exit__(None, None, None)

    @property
    def wall_us(self) -> float:
        return (self.seconds or 0.0) * US_PER_S


def busy_share(window: ProfileWindow, on_gpu: bool) -> str:
    events = window.profiler.key_averages()
    if on_gpu:
        kernel_us = sum(e.self_device_time_total for e in events if e.device_type == DeviceType.CUDA)
        what = "GPU kernels (and copies)"
    else:
        kernel_us = sum(e.self_cpu_time_total for e in events if e.key.startswith(CPU_COMPUTE_PREFIXES))
        what = "ATen operators and compiled kernels (the rest: Python, Lightning, dispatch)"
    share = kernel_us / window.wall_us if window.wall_us else 0.0
    return f"time in {what}: {kernel_us / 1e3:,.1f} ms of {window.wall_us / 1e3:,.1f} ms wall = {share:.0%}"


def run_profile(spec: RunSpec, overrides: tuple[str, ...], steps: int) -> str:
    """Markdown: the top operators by self time, then the share of wall time spent in kernels."""
    start, end = spec.warmup, spec.warmup + steps
    window_cfg = {
        "_target_": f"{ProfileWindow.__module__}.ProfileWindow",
        "start_step": start,
        "end_step": end,
    }
    trainer = fit_with(spec, overrides, window_cfg, max_steps=end)
    window = the_callback(trainer, ProfileWindow)
    if window.profiler is None:
        raise RuntimeError(f"training stopped at step {trainer.global_step}, before the profiled steps")
    on_gpu = spec.device.type == "cuda"
    sort_by = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    table = window.profiler.key_averages().table(sort_by=sort_by, row_limit=TOP_ROWS)
    return "\n".join(
        [
            f"### profile: `{' '.join(overrides) or 'default config'}`, batch size {spec.batch_size}, "
            f"{steps} steps after {spec.warmup} warm-up steps",
            "",
            "```",
            table.rstrip(),
            "```",
            "",
            busy_share(window, on_gpu),
        ]
    )
