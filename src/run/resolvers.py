"""OmegaConf resolvers used by conf/ (registered by the entry points' setup, src/run/entry.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf

from src.metrics.registry import direction
from src.run.attempt import all_ours, note_made

GPU_ACCELERATORS = ("gpu", "cuda")


def if_gpu(accelerator: str, on_gpu: Any, otherwise: Any) -> Any:
    """`on_gpu` when the run trains on a CUDA GPU (gpu/cuda, or auto with one present), else `otherwise`."""
    if accelerator in GPU_ACCELERATORS:
        return on_gpu
    if accelerator == "auto":
        return on_gpu if torch.cuda.is_available() else otherwise
    return otherwise


def gpu_job(accelerator: str, on_gpu: Any, on_cpu: Any) -> Any:
    """A cluster job's request: `on_cpu` for accelerator cpu, else `on_gpu` (`auto` asks for GPUs)."""
    return on_cpu if accelerator == "cpu" else on_gpu


def unique_dir(path: str) -> str:
    """`path`, made now with an atomic mkdir (another run of the same second gets `path_2`, ...), and noted
    as made by this process: removed again if the run never starts (attempt.py)."""
    candidate, n = Path(path), 1
    note_made(candidate.parent)
    while True:
        try:
            candidate.mkdir(parents=True, exist_ok=False)
            all_ours(candidate)
            return str(candidate)
        except FileExistsError:
            n += 1
            candidate = Path(f"{path}_{n}")


def beside_checkpoint(ckpt_path: str | None, log_dir: str) -> str:
    """The run folder of a checkpoint (`<run>/checkpoints/x.ckpt` -> `<run>`), where evaluate and generate
    write; `log_dir` without one."""
    if not ckpt_path:
        return log_dir
    folder = Path(ckpt_path).expanduser().absolute().parent
    return str(folder.parent if folder.name == "checkpoints" else folder)


def register_resolvers() -> None:
    OmegaConf.register_new_resolver("beside_checkpoint", beside_checkpoint, replace=True)
    from src.run.naming import job_name, run_name

    OmegaConf.register_new_resolver("run_name", run_name, replace=True)
    OmegaConf.register_new_resolver("job_name", job_name, replace=True)
    OmegaConf.register_new_resolver("if_gpu", if_gpu, replace=True)
    OmegaConf.register_new_resolver("gpu_job", gpu_job, replace=True)
    # the direction a sweeper optimises `optimized_metric` in (conf/hparams_search/optuna.yaml)
    OmegaConf.register_new_resolver("metric_direction", direction, replace=True)
    # cached: Hydra reads hydra.run.dir more than once, and each read must give the same folder
    OmegaConf.register_new_resolver("unique_dir", unique_dir, replace=True, use_cache=True)
