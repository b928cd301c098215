"""Speed switches of the GAN module (`model.speed`): fused/foreach Adam, channels_last, torch.compile
of G and D (eager, after one warning, where it cannot compile).

Every switch is off in conf/model/dcgan.yaml; conf/perf/fast.yaml turns them on. None of them changes
what is computed, only how: the memory layout of convolutions, how the optimizer's element-wise
updates are batched into kernels, and whether G and D run as generated kernels.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from src.core.checks import boolean, one_of
from src.core.errors import ConfigError

SPEED = {"channels_last": False, "fused_adam": False, "compile": False, "compile_mode": "default"}  # all off
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
PROBE_SHAPE = (2, 3, 8, 8)  # input of the tiny net compiled once to check that torch.compile works here
PROBE_WIDTH = 4

_eager_warning_given = False


def check_compile_mode(mode: str) -> str:
    return one_of(mode, "model.speed.compile_mode", COMPILE_MODES)


def check_speed(speed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The switches given (null or missing ones: off), each checked."""
    unknown = sorted(set(speed or {}) - set(SPEED))
    if unknown:
        raise ConfigError(f"model.speed.{unknown[0]} is unknown: use {', '.join(SPEED)}")
    speed = {**SPEED, **(speed or {})}
    for switch in ("channels_last", "fused_adam", "compile"):
        boolean(speed[switch], f"model.speed.{switch}")
    check_compile_mode(speed["compile_mode"])
    return speed


def adam_options(fused: bool, device: torch.device) -> dict[str, bool]:
    """Keyword arguments for torch.optim.Adam.

    `fused=False` returns {} so PyTorch keeps its own choice (the default run, unchanged); `fused=True`
    asks for the single fused kernel on CUDA and for the multi-tensor (foreach) kernels elsewhere.
    """
    if not fused:
        return {}
    return {"fused": True} if device.type == "cuda" else {"foreach": True}


def optimizer_speed(factory: functools.partial, fused: bool, device: torch.device) -> dict[str, bool]:
    """`adam_options` for the configured optimizer, limited to the keywords its class takes."""
    accepted = inspect.signature(factory.func).parameters
    return {k: v for k, v in adam_options(fused, device).items() if k in accepted}


def match_param_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each optimizer state tensor its parameter's memory layout.

    A checkpoint written by a run with another `channels_last` setting holds states in the other
    layout; fused and foreach Adam treat a parameter and its states as flat arrays of the same layout.
    """
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def warn_eager_once(reason: str) -> None:
    """One warning per process, however many modules fail to compile."""
    global _eager_warning_given
    if not _eager_warning_given:
        _eager_warning_given = True
        warnings.warn(
            f"model.speed.compile=true but torch.compile failed here ({reason}): training eagerly",
            stacklevel=3,
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


@functools.cache
def compile_problem(device: str) -> str | None:
    """Why torch.compile cannot run on `device` (None when it can).

    Compiling is lazy: a missing toolchain (a C++ compiler on CPU, Triton on GPU) only shows at the
    first forward, and the backward graph is compiled at the first backward. So a tiny conv +
    BatchNorm net is compiled and run forward and backward once, before training starts.
    """
    rng_devices = [device] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices):  # the run's random stream must not depend on the probe
        try:
            net = nn.Sequential(
                nn.Conv2d(PROBE_SHAPE[1], PROBE_WIDTH, 3), nn.BatchNorm2d(PROBE_WIDTH), nn.ReLU()
            ).to(device)
            torch.compile(net)(torch.randn(PROBE_SHAPE, device=device)).sum().backward()
        except Exception as exc:  # whatever the cause, the answer is the same: train eagerly
            return _one_line(exc)
    return None


def compile_nets(nets: list[nn.Module], mode: str, device: torch.device) -> None:
    """`nn.Module.compile` of each net on its own (G and D, never the training step: the module and its
    state_dict keys stay as they are). Where torch.compile does not work on `device`, or a net fails
    to compile at its first call, the nets run eagerly after one warning."""
    problem = compile_problem(str(device))
    if problem is not None:
        warn_eager_once(problem)
        return
    for net in nets:
        net.compile(mode=mode)
        compiled = net._compiled_call_impl  # what nn.Module.__call__ runs once compiled

        def call_or_run_eagerly(*args: Any, net: nn.Module = net, compiled: Any = compiled, **kwargs: Any):
            try:
                return compiled(*args, **kwargs)
            except Exception as exc:  # compiling happens at the call; a real error reappears eagerly
                warn_eager_once(_one_line(exc))
                net._compiled_call_impl = None
                return net(*args, **kwargs)

        net._compiled_call_impl = call_or_run_eagerly
