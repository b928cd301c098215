"""The model zoo's GANs side by side: `throughput.py --architectures dcgan,sngan_resnet,biggan`.

Each row is ganlab's default config with `model=<name>` (conf/model/<name>.yaml), timed through the
same path as the "ganlab default" row (src.train.fit + StepWindow) on the same device, data and batch
size, so the rows differ only in the nets and their training recipe (loss, D steps per batch). dcgan
is always measured: it is the reference the others are divided by.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from hydra.utils import instantiate
from torch import nn

from benchmarks.config import compose_run
from benchmarks.lightning_run import measure_lightning
from benchmarks.markdown import RowResult
from benchmarks.timing import RunSpec, measure_interleaved

REFERENCE = "dcgan"


@dataclass(frozen=True)
class Architecture:
    """What one `model=` builds: the size of its nets and how many D steps it takes per batch."""

    name: str
    g_params: int
    d_params: int
    n_critic: int


def parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def describe(spec: RunSpec, name: str) -> Architecture:
    """The model `src.train` would build for `model=<name>` (and --tiny's sizes), without training it."""
    cfg = compose_run(spec, (f"model={name}",))
    model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # as src.train.build does
    return Architecture(
        name, parameters(model.generator), parameters(model.discriminator), cfg.model.n_critic
    )


def with_reference(names: list[str]) -> list[str]:
    return names if REFERENCE in names else [REFERENCE, *names]


def measure_architectures(
    spec: RunSpec, names: list[str], repeats: int
) -> list[tuple[Architecture, RowResult]]:
    """Images/s of each architecture, `repeats` runs each, interleaved so drift hits all alike."""
    names = with_reference(names)
    rows = [(describe(spec, name), RowResult(name, f"`python -m src.train model={name}`")) for name in names]
    runs = [(result, partial(measure_lightning, overrides=(f"model={a.name}",))) for a, result in rows]
    measure_interleaved(spec, runs, repeats)
    return rows
