"""Training throughput of DCGAN loops, side by side, in real images per second through full D+G steps.

    python benchmarks/throughput.py [--device cuda|cpu] [--batch-sizes 64,128,...] [--steps N]
        [--warmup N] [--repeats N] [--data-dir data] [--workers 2] [--tiny] [--profile]
        [--precisions 32,bf16-mixed] [--architectures dcgan,sngan_resnet,biggan]

Rows: (a) the plain PyTorch loop of pytorch/examples (the reference: benchmarks/plain_loop.py),
(b) ganlab's default config and (c) ganlab with `+perf=fast`, both through src.train.fit and
Lightning's Trainer; with --precisions, (b) and (c) once per `trainer.precision` (the plain loop stays
fp32: the yardstick). Every row gets the same device, batch size, data files and step counts; runs
of the rows are interleaved, warm-up steps are not timed, and each row's median over --repeats runs
is divided by the reference's. A new row is one more entry in `rows()`. --architectures adds a table
of the model zoo's GANs (benchmarks/architectures.py). Output: Markdown on stdout, progress on
stderr. See benchmarks/RESULTS.md for results and the exact commands.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project, not this folder's modules by bare name
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from benchmarks import data
from benchmarks.architectures import REFERENCE, measure_architectures
from benchmarks.config import TINY_OVERRIDES, default_batch_size, gan_models
from benchmarks.fid_pass import measure_fid_pass
from benchmarks.lightning_run import measure_lightning
from benchmarks.markdown import RowResult, architectures_table, header, rows_table, scaling_table
from benchmarks.plain_loop import measure_plain
from benchmarks.profiling import run_profile
from benchmarks.timing import RunSpec, Timing, isolated_run, measure_interleaved
from src.core.errors import GanlabError, exit_with_error
from src.run.config_checks import PRECISIONS
from src.run.entry import setup

# Steps per run when --steps/--warmup are not given. A GPU step takes milliseconds, so it needs more
# steps for a stable number; its warm-up covers torch.compile and cuDNN's algorithm search.
DEFAULT_STEPS = {"cuda": 200, "cpu": 30}
DEFAULT_WARMUP = {"cuda": 20, "cpu": 5}
DEFAULT_FID_IMAGES = {"cuda": 10_000, "cpu": 100}  # CPU: about 4 images/s, so 100 take ~25 s
TINY_STEPS, TINY_WARMUP = 4, 2
DEFAULT_REPEATS = 3
DEFAULT_WORKERS = 2
PROFILE_STEPS = 10
DATA_DIR_VARIABLE = "GANLAB_DATA_DIR"  # where training reads CIFAR-10 from too (conf/paths/default.yaml)
FAST = ("+perf=fast",)
TINY_FAST = (*FAST, "model.speed.compile=false")  # compiling takes longer than a whole --tiny run


@dataclass(frozen=True)
class Row:
    """One measured loop: a name, what it runs, and how to time it on a RunSpec."""

    name: str
    config: str
    measure: Callable[[RunSpec], Timing]


def ganlab_row(name: str, overrides: tuple[str, ...], precision: str | None) -> Row:
    """ganlab with `overrides`, at `trainer.precision=<precision>` (None: the config's own)."""
    if precision is not None:
        name, overrides = f"{name}, {precision}", (*overrides, f"trainer.precision={precision}")
    command = " ".join(["python -m src.train", *overrides])
    return Row(name, f"`{command}`", partial(measure_lightning, overrides=overrides))


def rows(workers: int, tiny: bool, precisions: list[str] | None = None) -> list[Row]:
    """The reference first: every other row is divided by it. The plain loop runs in fp32 only."""
    fast = TINY_FAST if tiny else FAST
    plain = Row(
        "plain PyTorch loop (reference)",
        f"DataLoader, {workers} workers, PIL + ToTensor + Normalize, fp32",
        measure_plain,
    )
    ganlab = [
        ganlab_row(name, overrides, precision)
        for name, overrides in (("ganlab default", ()), ("ganlab fast", fast))
        for precision in precisions or [None]
    ]
    return [plain, *ganlab]


class OneLineParser(argparse.ArgumentParser):
    """Bad input: one line naming the value, exit code 2 (as `python -m src.train` does)."""

    def error(self, message: str) -> None:
        exit_with_error(message)


def whole_number(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a whole number >= {minimum}")
        return value

    return parse


def batch_sizes(text: str) -> list[int]:
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed: use whole numbers > 0 separated by commas"
        )
    return [int(p) for p in parts]


def precisions(text: str) -> list[str]:
    parts = text.split(",")
    unknown = [p for p in parts if p not in PRECISIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is unknown: use one of {', '.join(PRECISIONS)}")
    return parts


def architectures(text: str) -> list[str]:
    parts, known = text.split(","), gan_models()
    unknown = [p for p in parts if p not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"{unknown[0]!r} is unknown: use one of {', '.join(known)}")
    return parts


def by_device(defaults: dict[str, int]) -> str:
    return ", ".join(f"{n} on {device}" for device, n in defaults.items())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    available = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", choices=["cuda", "cpu"], default=available, help=f"default: {available}")
    parser.add_argument(
        "--batch-sizes", type=batch_sizes, help="comma-separated; default: the config's batch size"
    )
    steps, warmup = by_device(DEFAULT_STEPS), by_device(DEFAULT_WARMUP)
    parser.add_argument("--steps", type=whole_number(1), help=f"timed steps per run (default: {steps})")
    parser.add_argument("--warmup", type=whole_number(0), help=f"untimed steps first (default: {warmup})")
    parser.add_argument(
        "--repeats", type=whole_number(1), default=DEFAULT_REPEATS, help="runs per row; the median counts"
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(DATA_DIR_VARIABLE, "data"),
        help=f"folder holding cifar-10-batches-py/ (default: ${DATA_DIR_VARIABLE} or data; else synthetic)",
    )
    parser.add_argument(
        "--workers", type=whole_number(0), default=DEFAULT_WORKERS, help="plain loop's DataLoader workers"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny nets, few steps, synthetic data: for tests")
    parser.add_argument(
        "--profile", action="store_true", help="profile the fast config instead of timing rows"
    )
    parser.add_argument("--profile-steps", type=whole_number(1), default=PROFILE_STEPS, help="steps profiled")
    parser.add_argument(
        "--precisions",
        type=precisions,
        help="comma-separated trainer.precision values for the ganlab rows, e.g. 32,bf16-mixed "
        "(default: the config's own; the plain loop stays fp32)",
    )
    parser.add_argument(
        "--architectures",
        type=architectures,
        help="comma-separated model= names (conf/model/*.yaml GANs), e.g. dcgan,sngan_resnet,biggan: "
        f"a table of their images/s at the first batch size, each divided by {REFERENCE}'s "
        "(default: not run)",
    )
    parser.add_argument(
        "--fid-images",
        type=whole_number(0),
        help=f"images through the FID feature pass, 0 = skip (default: {by_device(DEFAULT_FID_IMAGES)}; "
        "0 with --tiny)",
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error(
            f"argument --device: 'cuda' is not available (torch {torch.__version__} finds no CUDA GPU): "
            "use --device cpu"
        )
    args.batch_sizes = args.batch_sizes or [default_batch_size()]
    if args.steps is None:
        args.steps = TINY_STEPS if args.tiny else DEFAULT_STEPS[args.device]
    if args.warmup is None:
        args.warmup = TINY_WARMUP if args.tiny else DEFAULT_WARMUP[args.device]
    if args.fid_images is None:
        args.fid_images = 0 if args.tiny else DEFAULT_FID_IMAGES[args.device]
    return args


class OncePerMessage(logging.Filter):
    """The same warning from every run (e.g. the local CIFAR-10 copy's md5) is shown once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        new = message not in self.seen
        self.seen.add(message)
        return new


def configure_logging() -> None:
    """What an entry point sets up (src/run/entry.py: the known-harmless messages filtered, the config
    resolvers), and a console of warnings only, each said once."""
    setup()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OncePerMessage())
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    for name in ("lightning.pytorch", "lightning.fabric"):  # "GPU available", "Seed set to": noise here
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings(
        "ignore", category=DeprecationWarning
    )  # libraries' notices, as in pytest's config


def notes(args: argparse.Namespace) -> list[str]:
    lines = [
        f"timing: {args.warmup} warm-up steps not timed, then {args.steps} timed steps per run; median of "
        f"{args.repeats} runs per row, rows interleaved; a step = D step on real + fake, then G step; "
        "images/s counts real images; device synced only where the clock starts and stops",
        "ganlab rows: src.train.fit with Lightning's Trainer; progress bar, logger, checkpointing and the "
        "sample-grid and images-per-second callbacks off for timing",
    ]
    if args.precisions:
        lines.append(
            f"precisions: the ganlab rows at trainer.precision={', '.join(args.precisions)}; the plain loop "
            "in fp32 only, as the yardstick"
        )
    if args.architectures:
        lines.append(
            f"architectures: ganlab's default config with model=<name> at batch {args.batch_sizes[0]}, timed "
            "like the ganlab default row; a batch is model.n_critic D steps then one G step, so a model "
            "with 5 D steps does more work per image"
        )
    if args.tiny:
        lines.append(
            f"--tiny: {' '.join(TINY_OVERRIDES)} (all rows), model.speed.compile=false in the fast row"
        )
    return lines


def spec_for(args: argparse.Namespace, batch_size: int, data_dir: Path) -> RunSpec:
    return RunSpec(
        torch.device(args.device), batch_size, args.steps, args.warmup, data_dir, args.workers, args.tiny
    )


def measure_all(args: argparse.Namespace, data_dir: Path) -> dict[int, list[RowResult]]:
    """Every row at every batch size, `args.repeats` times, rows interleaved so drift hits all alike."""
    table = rows(args.workers, args.tiny, args.precisions)
    by_batch: dict[int, list[RowResult]] = {}
    for batch_size in args.batch_sizes:
        spec = spec_for(args, batch_size, data_dir)
        results = [RowResult(row.name, row.config) for row in table]
        measure_interleaved(spec, [(r, row.measure) for r, row in zip(results, table)], args.repeats)
        by_batch[batch_size] = results
    return by_batch


def report(args: argparse.Namespace, data_dir: Path, data_line: str) -> str:
    """The Markdown printed on stdout: the profile (--profile) or the throughput tables."""
    device = torch.device(args.device)
    if args.profile:
        with isolated_run():
            spec = spec_for(args, args.batch_sizes[0], data_dir)
            profile = run_profile(spec, TINY_FAST if args.tiny else FAST, args.profile_steps)
        return header(device, data_line, []) + "\n\n" + profile
    by_batch = measure_all(args, data_dir)
    tables = [rows_table(batch_size, results) for batch_size, results in by_batch.items()]
    if len(by_batch) > 1:
        tables.append(scaling_table(by_batch))
    if args.fid_images:
        tables.append(measure_fid_pass(device, args.fid_images))
    if args.architectures:
        spec = spec_for(args, args.batch_sizes[0], data_dir)
        results = measure_architectures(spec, args.architectures, args.repeats)
        tables.append(architectures_table(spec.batch_size, results))
    return "\n\n".join([header(device, data_line, notes(args)), *tables])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-data-") as scratch:
        data_dir, data_line, num_images = data.prepare(Path(args.data_dir), Path(scratch), args.tiny)
        too_big = [b for b in args.batch_sizes if b > num_images]
        if too_big:
            exit_with_error(f"--batch-sizes={too_big[0]} is larger than the {num_images} images")
        try:
            print(report(args, data_dir, data_line))
        except GanlabError as err:
            exit_with_error(err)
    return 0


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
