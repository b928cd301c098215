"""Training throughput of DCGAN loops side by side, in real images per second through full D+G steps.

    python benchmarks/throughput.py [--device cuda|cpu] [--batch-sizes 64,128,...] [--steps N] [--warmup N]
        [--repeats N] [--data-dir data] [--workers 2] [--tiny] [--precisions 32,bf16-mixed]
        [--architectures dcgan,sngan_resnet,biggan] [--fid-images N] [--fid-only]

Rows: the plain PyTorch loop (the fp32 reference, benchmarks/plain_loop.py), then ganlab's default config
and `+perf=fast` through src.train.fit, once per --precisions value. Every row gets the same device, batch
size, data and steps; runs are interleaved, warm-up is not timed, and each row's median over --repeats
runs is divided by the reference's. Markdown on stdout, progress on stderr (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project, not this folder's modules by bare name
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import datetime
import gc
import logging
import os
import platform
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import lightning as L
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, open_dict

from benchmarks import plain_loop
from src.core.device import sync_device
from src.core.errors import GanlabError, exit_with_error
from src.data.cifar10 import FOLDER, missing_files, read_split, write_split
from src.metrics.distances import frechet_distance, mean_and_covariance
from src.metrics.features import image_features
from src.metrics.network import MissingWeightsError, load_feature_network
from src.run.config_checks import PRECISIONS
from src.run.entry import setup
from src.run.resolvers import register_resolvers
from src.train import fit

ROOT = Path(__file__).resolve().parents[1]
# a GPU step takes milliseconds: more steps for a stable number, and a warm-up that covers torch.compile
DEFAULT_STEPS, DEFAULT_WARMUP = {"cuda": 200, "cpu": 30}, {"cuda": 20, "cpu": 5}
DEFAULT_FID_IMAGES = {"cuda": 10_000, "cpu": 200}  # CPU: each pass ~10 images/s, so ~1 min for both
TINY_STEPS, TINY_WARMUP = 4, 2
SYNTHETIC_IMAGES, TINY_IMAGES = 50_000, 320  # the stand-in: as many images as CIFAR-10's training split
DATA_DIR_VARIABLE = "GANLAB_DATA_DIR"  # where training reads CIFAR-10 from too (conf/paths/default.yaml)
COMMIT_VARIABLE = "GANLAB_COMMIT"  # the commit, where the code runs outside a git checkout
TINY_OVERRIDES = ("model.latent_dim=16", "model.generator.base_width=8", "model.discriminator.base_width=8")
FAST = ("+perf=fast",)
TINY_FAST = (*FAST, "model.speed.compile=false")  # compiling takes longer than a whole --tiny run
REFERENCE = "dcgan"  # the architecture the others are divided by
FID_BATCH = 250  # the batch size of callbacks.fid and src.evaluate
ROWS_HEAD = (
    "| loop | config | precision | images/s (median) | min - max | vs reference |\n"
    "|---|---|---|---:|---:|---:|"
)
ARCHITECTURES_HEAD = (
    "| architecture | G parameters (M) | D parameters (M) | D steps per batch | precision "
    "| images/s (median) | min - max | vs dcgan |\n|---|---:|---:|---:|---|---:|---:|---:|"
)


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """conf/config.yaml with `overrides`, composed as the entry points do (resolvers first)."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def run_config(args: argparse.Namespace, batch_size: int, overrides: Sequence[str] = ()) -> DictConfig:
    """The config of one timed run: the default one + `overrides`, at the run's device, batch and data."""
    device = f"trainer.accelerator={'gpu' if args.device == 'cuda' else 'cpu'}"
    tiny = TINY_OVERRIDES if args.tiny else ()
    cfg = compose_config([f"data.batch_size={batch_size}", "data.download=false", device, *tiny, *overrides])
    with open_dict(cfg):  # set here, not as override strings, so any folder name works
        cfg.data.data_dir, cfg.trainer.devices = str(args.data_dir), 1
    return cfg


class StepWindow(L.Callback):
    """Wall time of the batches `start_step` .. `end_step - 1` (global indices, across epochs), with a
    device sync at those two points only."""

    def __init__(self, start_step: int, end_step: int):
        self.start_step, self.end_step = start_step, end_step
        self.started: float | None = None
        self.seconds: float | None = None

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        if trainer.global_step == self.start_step and self.started is None:
            sync_device(pl_module.device)
            self.started = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *_: Any) -> None:
        # global_step counts finished batches: it is end_step right after batch end_step - 1
        if trainer.global_step == self.end_step and self.started is not None and self.seconds is None:
            sync_device(pl_module.device)
            self.seconds = time.perf_counter() - self.started


def measure_lightning(args: argparse.Namespace, cfg: DictConfig) -> tuple[float, str]:
    """(images/s, precision) of src.train.fit on `cfg`; off for timing: progress bar, logger,
    checkpointing and every callback but StepWindow."""
    end = args.warmup + args.steps
    window = {"_target_": f"{StepWindow.__module__}.StepWindow", "start_step": args.warmup, "end_step": end}
    off = dict.fromkeys(("enable_progress_bar", "enable_model_summary", "enable_checkpointing"), False)
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-") as output_dir:
        with open_dict(cfg):
            cfg.paths.output_dir, cfg.logger, cfg.callbacks = output_dir, None, {"bench": window}
            cfg.trainer.merge_with({"max_epochs": -1, "max_steps": end, **off})
        trainer = fit(cfg)
    window = next(cb for cb in trainer.callbacks if isinstance(cb, StepWindow))
    if window.seconds is None:
        raise RuntimeError(f"training stopped at step {trainer.global_step}, before the timed steps")
    return args.steps * cfg.data.batch_size / window.seconds, str(trainer.precision)


@contextmanager
def isolated_run() -> Iterator[None]:
    """Each run starts like a fresh process: no global settings leak between rows (TF32, cudnn flags),
    and torch.compile keeps no graphs (after a second batch size it would switch to dynamic shapes)."""
    torch._dynamo.reset()
    matmul, deterministic = torch.get_float32_matmul_precision(), torch.are_deterministic_algorithms_enabled()
    cudnn = torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.use_deterministic_algorithms(deterministic)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = cudnn
        gc.collect()  # the run's nets, optimizers and data go now, not during the next run
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


@dataclass
class Row:
    """One measured loop: `measure(args, the run's config with overrides)`, and its runs at one batch size."""

    name: str
    config: str
    measure: Callable[[argparse.Namespace, DictConfig], tuple[float, str]] = measure_lightning
    overrides: tuple[str, ...] = ()
    precision: str = ""
    images_per_sec: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_sec)

    def ratio(self, reference: Row) -> str:
        return f"{self.median / reference.median:.2f}x"

    def cells(self, reference: Row) -> list[str]:
        """median, min - max, ratio to the reference."""
        spread = f"{number(min(self.images_per_sec))} - {number(max(self.images_per_sec))}"
        return [number(self.median), spread, self.ratio(reference)]


def ganlab_row(name: str, overrides: tuple[str, ...], precision: str | None = None) -> Row:
    """ganlab with `overrides`, at `trainer.precision=<precision>` (None: the config's own)."""
    if precision is not None:
        name, overrides = f"{name}, {precision}", (*overrides, f"trainer.precision={precision}")
    return Row(name, f"`{' '.join(['python -m src.train', *overrides])}`", overrides=overrides)


def rows(workers: int, tiny: bool, precisions: list[str] | None = None) -> list[Row]:
    """The reference first: every other row is divided by it. The plain loop runs in fp32 only."""
    plain = f"DataLoader, {workers} workers, PIL + ToTensor + Normalize, fp32"
    ganlab = (("ganlab default", ()), ("ganlab fast", TINY_FAST if tiny else FAST))
    return [
        Row("plain PyTorch loop (reference)", plain, plain_loop.images_per_sec),
        *(ganlab_row(name, overrides, p) for name, overrides in ganlab for p in precisions or [None]),
    ]


def measure_interleaved(args: argparse.Namespace, batch_size: int, measured: list[Row]) -> None:
    """`args.repeats` runs of each row, interleaved so drift hits all alike; each said on stderr."""
    for repeat in range(args.repeats):
        for row in measured:
            with isolated_run():
                rate, row.precision = row.measure(args, run_config(args, batch_size, row.overrides))
            row.images_per_sec.append(rate)
            where = f"batch {batch_size}, run {repeat + 1}/{args.repeats}"
            print(f"{where}, {row.name}: {rate:,.1f} images/s", file=sys.stderr, flush=True)


def measure_all(
    args: argparse.Namespace, go_on: Callable[[float], bool] | None = None
) -> dict[int, list[Row]]:
    """Every row at every batch size; `go_on(seconds this batch size took)` false: no further ones."""
    by_batch: dict[int, list[Row]] = {}
    for batch_size in args.batch_sizes:
        started = time.monotonic()
        by_batch[batch_size] = rows(args.workers, args.tiny, args.precisions)
        measure_interleaved(args, batch_size, by_batch[batch_size])
        if go_on is not None and not go_on(time.monotonic() - started):
            break
    return by_batch


def number(value: float) -> str:
    return f"{value:,.1f}"


def table(title: str, head: str, body: list[list[str]]) -> str:
    """Markdown: `title`, `head` (the header and rule lines), then one line per row of cells."""
    return "\n".join([title, "", head, *("| " + " | ".join(cells) + " |" for cells in body)])


def throughput_tables(by_batch: dict[int, list[Row]]) -> list[str]:
    """A table per batch size, and with several, the scaling table (medians and ratios side by side)."""
    tables, scaling = [], []
    for batch, (first, *others) in by_batch.items():
        body = [[r.name, r.config, r.precision, *r.cells(first)] for r in [first, *others]]
        tables.append(table(f"### batch size {batch}", ROWS_HEAD, body))
        scaling.append([str(batch), number(first.median)])
        for r in others:
            scaling[-1] += [number(r.median), r.ratio(first)]
    if len(by_batch) > 1:
        first, *others = next(iter(by_batch.values()))
        cells = [
            f"{first.name} images/s",
            *(f"{r.name} {c}" for r in others for c in ("images/s", "vs reference")),
        ]
        head = f"| batch | {' | '.join(cells)} |\n|{'---:|' * (len(cells) + 1)}"
        tables.append(table("### scaling with the batch size", head, scaling))
    return tables


def measure_architectures(args: argparse.Namespace) -> str:
    """The zoo's GANs at the first batch size, each the default config with `model=<name>` timed like the
    default row, beside its nets' sizes; dcgan is always measured, as the reference."""
    names, batch_size = args.architectures, args.batch_sizes[0]
    measured, sizes = [], []
    for name in names if REFERENCE in names else [REFERENCE, *names]:
        cfg = run_config(args, batch_size, [f"model={name}"])
        model = instantiate(cfg.model, _recursive_=False, _convert_="all")  # as src.train.build does
        nets = (model.generator, model.discriminator)
        millions = [f"{sum(p.numel() for p in net.parameters()) / 1e6:.3g}" for net in nets]
        sizes.append([f"`{name}`", *millions, str(cfg.model.n_critic)])
        measured.append(ganlab_row(name, (f"model={name}",)))
    measure_interleaved(args, batch_size, measured)
    body = [[*size, r.precision, *r.cells(measured[0])] for size, r in zip(sizes, measured)]
    return table(f"### architectures, batch size {batch_size}", ARCHITECTURES_HEAD, body)


def fid_pass_images(n_images: int, data_dir: Path | None) -> tuple[torch.Tensor, str]:
    """The first `n_images` CIFAR-10 training images when `data_dir` holds them, else random pixels."""
    if data_dir is not None and not missing_files(data_dir / FOLDER, "train"):
        return read_split(data_dir / FOLDER, "train")[0][:n_images], "the first CIFAR-10 training images"
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_images, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return images, "random pixels"


def measure_fid_pass(
    device: torch.device, n_images: int, weights_path: str | None = None, data_dir: Path | None = None
) -> str:
    """Markdown: images/s of the FID feature pass (uint8 -> TF1 resize to 299 -> Inception pool3), which
    dominates every FID evaluation, for the plain pass (torch-fidelity's resize, whole NCHW batches) and
    ganlab's (`metrics.cpu_chunk`), on the same images, and the FID between the two halves of them under
    each: the two passes must agree. A line saying why, when the weights are missing (never downloaded)."""
    passes = {"plain": {"cpu_chunk": None}, "ganlab": {}}  # ganlab's: conf/metrics/default.yaml
    try:
        networks = {
            name: load_feature_network(weights_path, allow_download=False, **options).to(device).eval()
            for name, options in passes.items()
        }
    except MissingWeightsError as err:
        return f"FID feature pass: not measured ({err})"
    images, what = fid_pass_images(n_images, data_dir)
    batch, half = min(FID_BATCH, len(images)), len(images) // 2
    body, rates, fids = [], {}, {}
    for name, network in networks.items():
        image_features(network, images[:batch], batch, device, progress=False)  # warm-up
        sync_device(device)
        start = time.perf_counter()
        features, _ = image_features(network, images, batch, device, progress=False)
        sync_device(device)
        seconds = time.perf_counter() - start
        rates[name] = len(images) / seconds
        a, b = mean_and_covariance(features[:half]), mean_and_covariance(features[half:])
        fids[name] = frechet_distance(*a, *b)
        ratio = f"{rates[name] / rates['plain']:.2f}x"
        body.append(
            [name, f"{len(images):,}", f"{seconds:.1f}", number(rates[name]), ratio, f"{fids[name]:.4f}"]
        )
    network = networks["ganlab"]
    title = (
        f"FID feature pass ({network.name}, weights {network.weights_id[:19]}..., TF1 resize to 299, "
        f"batch {batch}, {what}); FID between the first and the second half of the images, under each pass "
        f"(they differ by {abs(fids['ganlab'] - fids['plain']):.2e}):"
    )
    head = "| pass | images | seconds | images/s | vs plain | FID (half vs half) |"
    head += "\n|---|---:|---:|---:|---:|---:|"
    return table(title, head, body)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor() or platform.machine()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {model}, {cores} cores usable, {torch.get_num_threads()} torch threads"


def commit() -> str:
    """Short hash of HEAD (+ uncommitted changes); outside a git checkout, the one $GANLAB_COMMIT names."""
    git = partial(subprocess.run, cwd=ROOT, capture_output=True, text=True)
    try:
        head = git(["git", "rev-parse", "--short", "HEAD"])
        why = "not a git checkout" if head.returncode != 0 else None
    except OSError:
        why = "git not found"
    if why:
        given = os.environ.get(COMMIT_VARIABLE)
        return f"{given} (from ${COMMIT_VARIABLE}: {why} here)" if given else f"unknown ({why})"
    dirty = git(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    return head.stdout.strip() + (" + uncommitted changes" if dirty else "")


def header(
    device: torch.device, data: str, notes: list[str], title: str = "DCGAN training throughput"
) -> str:
    """What a result needs to be read later: date, machine, commit, versions, command and data."""
    versions = f"torch {torch.__version__}, lightning {L.__version__}, python {platform.python_version()}"
    lines = [
        f"## {title}",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- device: {device_name(device)}",
        f"- commit: {commit()}",
        f"- versions: {versions}",
        f"- command: `python {' '.join(sys.argv)}`",
        f"- data: {data}",
    ]
    return "\n".join(lines + [f"- {note}" for note in notes])


def prepare_data(data_dir: Path, scratch: Path, tiny: bool) -> tuple[Path, str, int]:
    """The folder every row reads (it holds cifar-10-batches-py/), a line saying what it holds, and its
    number of images: CIFAR-10, else random pixels in its layout (the speed does not depend on them)."""
    if not tiny and not missing_files(data_dir / FOLDER, "train"):
        n = len(read_split(data_dir / FOLDER, "train")[1])
        return data_dir, f"CIFAR-10 training split from {data_dir / FOLDER} ({n} images)", n
    n, rng = (TINY_IMAGES if tiny else SYNTHETIC_IMAGES), np.random.default_rng(0)
    write_split(scratch, "train", rng.integers(0, 256, (n, 3, 32, 32), np.uint8), rng.integers(0, 10, n))
    why = "--tiny" if tiny else f"no CIFAR-10 in {data_dir / FOLDER}"
    return scratch, f"synthetic: {n} random 32x32 images in the CIFAR-10 pickle layout ({why})", n


class OneLineParser(argparse.ArgumentParser):
    """Bad input: one line naming the value, exit code 2 (as `python -m src.train` does)."""

    def error(self, message: str) -> None:
        exit_with_error(message)


def whole_number(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a whole number >= {minimum}")
        return value

    return parse


def batch_sizes(text: str) -> list[int]:
    if not all(p.strip().isdigit() and int(p) > 0 for p in text.split(",")):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed: use whole numbers > 0 separated by commas"
        )
    return [int(p) for p in text.split(",")]


def names_of(known: Callable[[], Sequence[str]]) -> Callable[[str], list[str]]:
    """A comma-separated list of names, each one of `known()`."""

    def parse(text: str) -> list[str]:
        parts, allowed = text.split(","), known()
        unknown = [p for p in parts if p not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"{unknown[0]!r} is unknown: use one of {', '.join(allowed)}")
        return parts

    return parse


def gan_models() -> list[str]:
    """The `model=` names of conf/model/*.yaml that build a GAN (not the diffusion models), sorted."""
    names = sorted(path.stem for path in (ROOT / "conf" / "model").glob("*.yaml"))
    return [n for n in names if compose_config([f"model={n}"]).model.get("_target_") == "src.gan.GAN"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(description=__doc__.split("\n\n")[0])
    available = "cuda" if torch.cuda.is_available() else "cpu"
    add, per_device = parser.add_argument, "(default: {0[cuda]} on cuda, {0[cpu]} on cpu)".format
    add("--device", choices=["cuda", "cpu"], default=available, help=f"default: {available}")
    add("--batch-sizes", type=batch_sizes, help="comma-separated; default: the config's batch size")
    add("--steps", type=whole_number(1), help=f"timed steps per run {per_device(DEFAULT_STEPS)}")
    add("--warmup", type=whole_number(0), help=f"untimed steps first {per_device(DEFAULT_WARMUP)}")
    add("--repeats", type=whole_number(1), default=3, help="runs per row; the median counts")
    where = f"the folder holding cifar-10-batches-py/ (default: ${DATA_DIR_VARIABLE} or data; else synthetic)"
    add("--data-dir", default=os.environ.get(DATA_DIR_VARIABLE, "data"), help=where)
    add("--workers", type=whole_number(0), default=2, help="plain loop's DataLoader workers")
    add("--tiny", action="store_true", help="tiny nets, few steps, synthetic data: for tests")
    add("--precisions", type=names_of(lambda: PRECISIONS), help="trainer.precision values of the ganlab rows")
    add("--architectures", type=names_of(gan_models), help="model= names (GANs): a table of their images/s")
    fid = f"images through the FID feature pass, 0 = skip {per_device(DEFAULT_FID_IMAGES)}; 0 with --tiny"
    add("--fid-images", type=whole_number(0), help=fid)
    add("--fid-only", action="store_true", help="only the FID feature pass (no training rows)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        no_gpu = f"'cuda' is not available (torch {torch.__version__} finds no CUDA GPU): use --device cpu"
        parser.error(f"argument --device: {no_gpu}")
    args.batch_sizes = args.batch_sizes or [int(compose_config().data.batch_size)]
    if args.steps is None:
        args.steps = TINY_STEPS if args.tiny else DEFAULT_STEPS[args.device]
    if args.warmup is None:
        args.warmup = TINY_WARMUP if args.tiny else DEFAULT_WARMUP[args.device]
    if args.fid_images is None:
        args.fid_images = 0 if args.tiny else DEFAULT_FID_IMAGES[args.device]
    return args


def configure_logging() -> None:
    """What an entry point sets up (src/run/entry.py), and a console of warnings only, each said once
    (every run repeats e.g. the local CIFAR-10 copy's md5 warning)."""
    setup()
    seen: set[str] = set()

    def once(record: logging.LogRecord) -> bool:
        new = record.getMessage() not in seen
        seen.add(record.getMessage())
        return new

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(once)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    for name in ("lightning.pytorch", "lightning.fabric"):  # "GPU available", "Seed set to": noise here
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # libraries' notices, as in pytest


def notes(args: argparse.Namespace) -> list[str]:
    lines = [
        f"timing: {args.warmup} warm-up steps not timed, then {args.steps} timed steps per run; median of "
        f"{args.repeats} runs per row, rows interleaved; a step = D step on real + fake, then G step; "
        "images/s counts real images; device synced only where the clock starts and stops",
        "ganlab rows: src.train.fit with Lightning's Trainer; progress bar, logger, checkpointing and the "
        "sample-grid and images-per-second callbacks off for timing",
    ]
    if args.precisions:
        precisions = ", ".join(args.precisions)
        lines.append(
            f"precisions: the ganlab rows at trainer.precision={precisions}; the plain loop in fp32 only"
        )
    if args.architectures:
        lines.append(
            f"architectures: the default config with model=<name> at batch {args.batch_sizes[0]}, timed like "
            "the ganlab default row; a batch is model.n_critic D steps then one G step"
        )
    if args.tiny:
        lines.append(
            f"--tiny: {' '.join(TINY_OVERRIDES)} (all rows), model.speed.compile=false in the fast row"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ganlab-bench-data-") as scratch:
        try:
            args.data_dir, data_line, count = prepare_data(Path(args.data_dir), Path(scratch), args.tiny)
            too_big = [b for b in args.batch_sizes if b > count]
            if too_big:
                exit_with_error(f"--batch-sizes={too_big[0]} is larger than the {count} images")
            device = torch.device(args.device)
            tables = [] if args.fid_only else throughput_tables(measure_all(args))
            if args.fid_images:
                tables.append(measure_fid_pass(device, args.fid_images, data_dir=args.data_dir))
            if args.architectures:
                tables.append(measure_architectures(args))
            print("\n\n".join([header(device, data_line, notes(args)), *tables]))
        except GanlabError as err:
            exit_with_error(err)
    return 0


if __name__ == "__main__":
    configure_logging()
    sys.exit(main())
