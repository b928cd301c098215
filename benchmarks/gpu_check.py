"""The GPU check in one command: `make gpu-check` (benchmarks/gpu_check.sh runs this file).

    python benchmarks/gpu_check.py [--dry-run] [--results PATH] [--weights FILE] [--data-dir DIR]

On one CUDA GPU, in about 8 minutes (an H200), four parts, each with a time budget:
  1. training throughput: the plain loop vs ganlab default vs `+perf=fast`, the ganlab rows in fp32
     and bf16-mixed, batch 64 .. 2048 (benchmarks/throughput.py's rows and tables);
  2. a bf16-mixed `+perf=fast` DCGAN run of 3,000 steps that must stay finite (its own NaN guard exits 3)
     and beat its start in FID-10k: the checkpoint after its first step against its last one, both
     against the same cached reference statistics (`python -m src.evaluate`);
  3. a short bf16-mixed `+perf=fast` run of each new architecture (+experiment=sngan_resnet, biggan):
     images/s and finite losses;
  4. the FID feature pass on 10,000 images (benchmarks/fid_pass.py).
It appends what it measured to benchmarks/RESULTS.md (or --results), prints it, and exits 1 when a
check failed. `--dry-run` does the same at tiny size on the CPU (generated data, a tiny stand-in for the
Inception network), so the whole pipeline is known to work before a GPU is lent.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project, not this folder's modules by bare name
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import importlib.metadata
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from benchmarks import cli_runs, data, throughput
from benchmarks.budget import Clock, Part, minutes
from benchmarks.config import TINY_OVERRIDES
from benchmarks.fid_pass import measure_fid_pass
from benchmarks.markdown import ROOT, RowResult, header, rows_table, scaling_table
from benchmarks.timing import isolated_run
from src.core.errors import GanlabError, exit_with_error
from src.data import CIFAR10DataModule
from src.metrics.network import MissingWeightsError, load_feature_network
from src.run.resume import LAST

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
DATA_DIR_VARIABLE = "GANLAB_DATA_DIR"
FAILED_EXIT = 1
NEW_ARCHITECTURES = ("sngan_resnet", "biggan")  # +experiment=<name>
START_STEP = 1  # the DCGAN's start checkpoint is written after its first batch
STARTUP_S = 60  # a training run's process start, imports and data, beyond its trainer.max_time
OVERRUN_ALLOWED = 1.2  # part 1 starts another batch size while it would end within 1.2x its budget
PACKAGES = ("torchvision", "hydra-core", "omegaconf", "torch-fidelity")
THROUGHPUT, DCGAN, ARCHITECTURES, FID_PASS = "throughput", "dcgan", "architectures", "fid pass"


@dataclass(frozen=True)
class Plan:
    """How large each part is: the check on a GPU, or its dry run at tiny size on a CPU."""

    device: str
    precision: str  # what the training runs of parts 2 and 3 use, in words
    throughput: tuple[str, ...]  # benchmarks/throughput.py's options for part 1
    training: tuple[str, ...]  # overrides of every training run: device, speed, precision (data, size)
    evaluation: tuple[str, ...]  # overrides of both FID evaluations besides images, weights and cache
    dcgan_steps: int
    architecture_steps: int
    log_every: int  # trainer.log_every_n_steps: a run's images/s is the rate of its last this many steps
    fid_images: int  # generated images and real images of each FID
    fid_pass_images: int
    budgets_s: dict[str, int]  # per part: what it is planned to take
    run_limit_s: int  # each training run's trainer.max_time
    evaluate_limit_s: int  # each evaluation's time limit
    hard_limit_s: int  # no run outlasts this, counted from the check's start


GPU_PLAN = Plan(
    device="cuda",
    precision="bf16-mixed",
    # 5 rows x 6 batch sizes, 1 run each: 12 of the 30 runs compile G and D (torch.compile, ~10-20 s each)
    throughput=(
        "--batch-sizes",
        "64,128,256,512,1024,2048",
        "--precisions",
        "32,bf16-mixed",
        "--steps",
        "40",
        "--warmup",
        "10",
        "--repeats",
        "1",
    ),  # fmt: skip
    training=("trainer.accelerator=gpu", "+perf=fast", "trainer.precision=bf16-mixed"),
    evaluation=("device=cuda",),
    dcgan_steps=3000,
    architecture_steps=200,
    log_every=50,
    fid_images=10_000,
    fid_pass_images=10_000,
    budgets_s={THROUGHPUT: 230, DCGAN: 95, ARCHITECTURES: 105, FID_PASS: 25},
    run_limit_s=150,
    evaluate_limit_s=120,
    hard_limit_s=510,  # 8.5 min: the device tool stops a command at 10 minutes
)
DRY_PLAN = Plan(
    device="cpu",
    precision="fp32 (bf16 makes no sense on this CPU)",
    throughput=("--tiny", "--batch-sizes", "16,32", "--repeats", "1"),
    training=(
        "trainer.accelerator=cpu",
        "+perf=fast",
        "model.speed.compile=false",
        "data=synthetic",
        *TINY_OVERRIDES,
    ),  # fmt: skip
    evaluation=("device=cpu", "data=synthetic"),
    dcgan_steps=640,  # 40 epochs of the 256 generated images: enough for the tiny G to beat its start
    architecture_steps=10,
    log_every=5,
    fid_images=256,
    fid_pass_images=16,
    budgets_s={THROUGHPUT: 15, DCGAN: 45, ARCHITECTURES: 30, FID_PASS: 5},
    run_limit_s=60,
    evaluate_limit_s=60,
    hard_limit_s=5 * 60,
)


@dataclass(frozen=True)
class Setup:
    """What every part reads."""

    plan: Plan
    dry_run: bool
    clock: Clock
    scratch: Path  # run folders, logs, the reference-statistics cache: gone after the check
    data_dir: Path | None  # the folder holding cifar-10-batches-py/ (None: generated data)
    weights: str | None  # metrics.weights_path of the FID parts (None: the project's own search)
    fid_skipped: str | None  # why the FID parts do not run (None: they do)

    @property
    def device(self) -> torch.device:
        return torch.device(self.plan.device)


@dataclass
class Outcome:
    """What a part found: Markdown for the section, and one line per failed or skipped check."""

    markdown: str
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def demote(markdown: str) -> str:
    """Headings one level down: throughput.py's tables go under this section's part headings."""
    return "\n".join(f"#{line}" if line.startswith("#") else line for line in markdown.splitlines())


def time_left(part: Part, wanted_s: float) -> float:
    return min(wanted_s, part.clock.left())


# ----- part 1: the throughput table -----


def throughput_part(setup: Setup, part: Part) -> Outcome:
    """throughput.py's rows at every batch size; the last batch sizes are dropped if time runs out."""
    argv = ["--device", setup.plan.device, *setup.plan.throughput, "--fid-images", "0"]
    if setup.data_dir is not None:
        argv += ["--data-dir", str(setup.data_dir)]
    args = throughput.parse_args(argv)
    by_batch: dict[int, list[RowResult]] = {}
    dropped: list[int] = []
    with tempfile.TemporaryDirectory(prefix="ganlab-check-data-") as scratch:
        folder, data_line, _ = data.prepare(Path(args.data_dir), Path(scratch), args.tiny)
        previous = 0.0
        for batch_size in args.batch_sizes:
            if by_batch and (part.over(previous, OVERRUN_ALLOWED) or part.clock.left() < previous):
                dropped.append(batch_size)
                continue
            started = time.monotonic()
            one = argparse.Namespace(**{**vars(args), "batch_sizes": [batch_size]})
            by_batch.update(throughput.measure_all(one, folder))
            previous = time.monotonic() - started
    tables = [rows_table(batch_size, results) for batch_size, results in by_batch.items()]
    if len(by_batch) > 1:
        tables.append(scaling_table(by_batch))
    intro = [f"`python benchmarks/throughput.py {' '.join(argv)}`", f"- data: {data_line}"]
    intro += [f"- {note}" for note in throughput.notes(args)]
    if setup.dry_run:
        intro.append("- fp32 only: bf16 makes no sense on this CPU (the GPU check runs both)")
    outcome = Outcome(demote("\n\n".join(["\n".join(intro), *tables])))
    if dropped:
        outcome.skipped.append(
            f"throughput at batch {', '.join(map(str, dropped))}: part 1 had used its budget of "
            f"{minutes(part.budget_s)}"
        )
    return outcome


# ----- parts 2 and 3: training runs -----


def max_time(seconds: int) -> str:
    """Lightning's trainer.max_time, DD:HH:MM:SS."""
    return f"00:00:{seconds // 60:02d}:{seconds % 60:02d}"


def run_limit(setup: Setup) -> int:
    """A training run's trainer.max_time: the plan's, less where the check's hard limit comes first."""
    return max(1, int(min(setup.plan.run_limit_s, setup.clock.left() - STARTUP_S)))


def training(setup: Setup, steps: int, limit_s: int) -> list[str]:
    """The overrides every training run of the check shares: its plan's settings, `steps` batches,
    no in-training FID, and a time limit (Lightning stops the run there, and it ends normally)."""
    overrides = [
        *setup.plan.training,
        "callbacks=no_metrics",
        "trainer.max_epochs=-1",
        f"trainer.max_steps={steps}",
        f"trainer.log_every_n_steps={setup.plan.log_every}",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        f"+trainer.max_time={max_time(limit_s)}",
    ]
    if setup.data_dir is not None:
        overrides.append(f"data.data_dir={setup.data_dir}")
    return overrides


def command(module: str, overrides: list[str]) -> str:
    return f"`python -m {module} {' '.join(overrides)}`"


def speed(run: cli_runs.TrainResult) -> str:
    rate = run.images_per_sec()
    return "-" if rate is None else f"{rate:,.0f}"


def evaluation(setup: Setup) -> list[str]:
    n = setup.plan.fid_images
    overrides = [
        *setup.plan.evaluation,
        f"n_samples={n}",
        f"n_real={n}",
        "prdc_k=null",  # only FID decides; precision/recall would add a k-NN pass
        "progress=false",
        "metrics.allow_download=false",
        f"metrics.cache_dir={setup.scratch / 'fid-cache'}",  # both scores read the same statistics
    ]
    if setup.weights:
        overrides.append(f"metrics.weights_path={setup.weights}")
    if setup.data_dir is not None:
        overrides.append(f"data.data_dir={setup.data_dir}")
    return overrides


def fid_comparison(setup: Setup, part: Part, start: Path, end: Path, end_step: int) -> Outcome:
    """FID of the start and the end checkpoint against the same reference; the end must be lower."""
    n = setup.plan.fid_images
    scores = {}
    for name, ckpt in (("start", start), ("end", end)):
        setup.clock.say(f"FID-{n:,} of the {name} checkpoint")
        logs = setup.scratch / f"evaluate-{name}"
        scores[name] = cli_runs.evaluate(
            ckpt, evaluation(setup), logs, time_left(part, setup.plan.evaluate_limit_s)
        )
    failed = [f"FID of the {name} checkpoint: {s.failure}" for name, s in scores.items() if s.failure]
    if failed:
        return Outcome("FID: not compared: " + "; ".join(failed), failures=failed)
    start_fid, end_fid = scores["start"].result["fid"], scores["end"].result["fid"]
    sha, n_real = scores["start"].reference
    same = scores["start"].reference == scores["end"].reference
    better = end_fid < start_fid
    verdict = "PASS" if better and same else "FAIL"
    lines = [
        f"| checkpoint | step | FID-{n:,} | KID |",
        "|---|---:|---:|---:|",
        f"| start | {START_STEP} | {start_fid:.2f} | {scores['start'].result['kid']:.4f} |",
        f"| end | {end_step:,} | {end_fid:.2f} | {scores['end'].result['kid']:.4f} |",
        "",
        f"- FID: **{verdict}**: {end_fid:.2f} at the end {'<' if better else '>='} {start_fid:.2f} at the "
        "start; "
        f"{n:,} samples of the EMA generator against {n_real:,} real images (data sha256 {sha[:12]}...), "
        f"{'the same' if same else 'NOT the same'} reference statistics for both",
        f"- {command('src.evaluate', ['ckpt_path=<checkpoint>', *evaluation(setup)])}",
    ]
    outcome = Outcome("\n".join(lines))
    if not same:
        outcome.failures.append("FID: the two checkpoints were scored against different reference statistics")
    elif not better:
        outcome.failures.append(f"FID: the end ({end_fid:.2f}) does not beat the start ({start_fid:.2f})")
    return outcome


def dcgan_part(setup: Setup, part: Part) -> Outcome:
    """A DCGAN run that writes its start checkpoint itself (benchmarks/start_checkpoint.py), then FID."""
    run_dir = setup.scratch / "dcgan"
    start = setup.scratch / "start.ckpt"
    limit = run_limit(setup)
    overrides = training(setup, setup.plan.dcgan_steps, limit)
    callback = [
        "+callbacks.start_checkpoint._target_=benchmarks.start_checkpoint.SaveAtStep",
        f"+callbacks.start_checkpoint.step={START_STEP}",
        f"+callbacks.start_checkpoint.path={start}",
    ]
    setup.clock.say(f"DCGAN: {setup.plan.dcgan_steps:,} steps")
    run = cli_runs.train(run_dir, overrides + callback, time_left(part, limit + STARTUP_S))
    stopped_early = run.failure is None and run.step < setup.plan.dcgan_steps
    lines = [
        command("src.train", overrides),
        "",
        f"| steps | images/s (last {setup.plan.log_every} steps) | last losses | finite | run time |",
        "|---:|---:|---|---|---:|",
        f"| {run.step:,} of {setup.plan.dcgan_steps:,} | {speed(run)} | {run.losses() or '-'} | "
        f"{'yes' if run.failure is None else 'NO'} | {run.finished.seconds:.0f} s |",
        "",
        f"- finite: {'**PASS**: exit 0' if run.failure is None else '**FAIL**: ' + run.failure}",
    ]
    if stopped_early:
        lines.append(f"- stopped by its trainer.max_time of {max_time(limit)} before the last step")
    outcome = Outcome("\n".join(lines))
    if run.failure:
        setup.clock.say(f"DCGAN run: {run.failure}\n{run.finished.tail()}")
        outcome.failures.append(f"DCGAN run: {run.failure}")
        return outcome
    if setup.fid_skipped:
        outcome.markdown += "\n- FID: not run (see skipped above)"
        return outcome
    if not start.is_file():
        outcome.failures.append(f"DCGAN run: no start checkpoint at {start.name}")
        return outcome
    fid = fid_comparison(setup, part, start, run_dir / LAST, run.step)
    outcome.markdown += "\n\n" + fid.markdown
    outcome.failures += fid.failures
    return outcome


def architectures_part(setup: Setup, part: Part) -> Outcome:
    """A short run of each new architecture's experiment: speed and finite losses."""
    steps = setup.plan.architecture_steps
    rows, failures = [], []
    for name in NEW_ARCHITECTURES:
        limit = run_limit(setup)
        overrides = [f"+experiment={name}", *training(setup, steps, limit)]
        setup.clock.say(f"+experiment={name}: {steps} steps")
        run = cli_runs.train(setup.scratch / name, overrides, time_left(part, limit + STARTUP_S))
        if run.failure:
            setup.clock.say(f"{name}: {run.failure}\n{run.finished.tail()}")
            failures.append(f"+experiment={name}: {run.failure}")
        finite = "yes" if run.failure is None else f"NO: {run.failure}"
        rows.append(
            f"| `+experiment={name}` | {run.step:,} of {steps:,} | {speed(run)} | {run.losses() or '-'} "
            f"| {finite} | {run.finished.seconds:.0f} s |"
        )
    lines = [
        command("src.train", ["+experiment=<name>", *training(setup, steps, setup.plan.run_limit_s)]),
        "",
        f"| experiment | steps | images/s (last {setup.plan.log_every} steps) | last losses | finite "
        "| run time |",
        "|---|---:|---:|---|---|---:|",
        *rows,
        "",
        f"- finite: {'**PASS**' if not failures else '**FAIL**'} (a run's own NaN guard exits 3)",
    ]
    return Outcome("\n".join(lines), failures=failures)


def fid_pass_part(setup: Setup, part: Part) -> Outcome:
    if setup.fid_skipped:
        return Outcome("not run (see skipped above)")
    with isolated_run():
        table = measure_fid_pass(setup.device, setup.plan.fid_pass_images, setup.weights)
    if table.startswith("FID feature pass: not measured"):
        return Outcome(table, skipped=[table])
    return Outcome(table)


# ----- the check -----

PartRunner = Callable[[Setup, Part], Outcome]


def parts(plan: Plan) -> list[tuple[str, str, PartRunner]]:
    """(budget key, title, runner) of each part, in order."""
    both = "fp32" if plan.device == "cpu" else "fp32 and bf16-mixed"
    fid = f"FID-{plan.fid_images:,}"
    return [
        (
            THROUGHPUT,
            f"Training throughput: plain loop vs ganlab default vs +perf=fast, {both}",
            throughput_part,
        ),
        (
            DCGAN,
            f"DCGAN, {plan.dcgan_steps:,} steps, {plan.precision}, +perf=fast: finite, and a better {fid} "
            "than at its start",
            dcgan_part,
        ),
        (
            ARCHITECTURES,
            f"New architectures, {plan.architecture_steps} steps each, {plan.precision}, +perf=fast",
            architectures_part,
        ),
        (FID_PASS, f"FID feature pass, {plan.fid_pass_images:,} images", fid_pass_part),
    ]


def run_parts(setup: Setup) -> list[tuple[str, Part | None, Outcome]]:
    """Every part in order; one that raises is a failure, and the others still run."""
    done = []
    plan = parts(setup.plan)
    for number, (key, title, runner) in enumerate(plan, start=1):
        label, budget = f"part {number}/{len(plan)}", setup.plan.budgets_s[key]
        heading = f"{number}. {title}"
        if setup.clock.left() <= 0:
            done.append((heading, None, Outcome("not run", failures=[f"part {number}: no time left"])))
            continue
        with setup.clock.part(label, title, budget) as part:
            try:
                outcome = runner(setup, part)
            except Exception as err:  # a bug or a CUDA error: recorded, and the other parts still run
                traceback.print_exc()
                first_line = (str(err).splitlines() or [""])[0]
                why = f"part {number} raised {type(err).__name__}: {first_line}"
                outcome = Outcome(f"**FAIL**: {why}", failures=[why])
        done.append((heading, part, outcome))
    return done


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def report(setup: Setup, done: list[tuple[str, Part | None, Outcome]], fid_line: str | None) -> str:
    """The section appended to RESULTS.md: the header, the verdict, then each part."""
    failures = [line for _, _, outcome in done for line in outcome.failures]
    skipped = ([fid_line] if fid_line else []) + [line for _, _, outcome in done for line in outcome.skipped]
    total, budget = setup.clock.elapsed(), sum(setup.plan.budgets_s.values())
    notes = [
        f"result: **{'FAIL' if failures else 'PASS'}**" + (": " + "; ".join(failures) if failures else ""),
        *(f"skipped: {line}" for line in skipped),
        f"time: {minutes(total)} in all ({'within' if total <= budget else 'over'} the plan of "
        f"{minutes(budget)})",
        f"packages: {versions()}",
    ]
    if setup.dry_run:
        notes.append(
            "dry run: tiny nets, generated data and a tiny stand-in for the Inception network on the CPU: "
            "it shows that every step works, not how fast or how good anything is"
        )
    if setup.data_dir is not None:
        data_line = (
            f"CIFAR-10 from {setup.data_dir / data.FOLDER} (training runs and FID; part 1 says its own)"
        )
    else:
        data_line = "generated: data=synthetic for the training runs and FID, --tiny's own files for part 1"
    title = "GPU check, dry run on CPU" if setup.dry_run else f"GPU check: {torch.cuda.get_device_name()}"
    sections = [header(setup.device, data_line, notes, title=title)]
    for heading, part, outcome in done:
        took = "" if part is None else f" (budget {minutes(part.budget_s)}, took {minutes(part.elapsed())})"
        sections.append(f"### {heading}{took}\n\n{outcome.markdown}")
    return "\n\n".join(sections)


def append(path: Path, section: str) -> None:
    """`section` at the end of `path`, after one blank line."""
    existing = path.read_text() if path.is_file() else ""
    gap = "" if not existing else "\n" if existing.endswith("\n") else "\n\n"
    with open(path, "a") as f:
        f.write(gap + section + "\n")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = throughput.OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="the same steps at tiny size on the CPU")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="the Markdown file the section is appended to"
    )
    parser.add_argument("--weights", help="the FID Inception weights file (metrics.weights_path)")
    parser.add_argument("--skip-fid", metavar="REASON", help="do not run the FID parts, and say why")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get(DATA_DIR_VARIABLE, "data"),
        help=f"folder holding cifar-10-batches-py/ (default: ${DATA_DIR_VARIABLE} or data; downloaded "
        "if missing)",
    )
    args = parser.parse_args(argv)
    if args.weights and not Path(args.weights).is_file():
        parser.error(f"argument --weights: {args.weights!r} is not a file")
    return args


def fid_weights(args: argparse.Namespace, scratch: Path) -> tuple[str | None, str | None]:
    """(metrics.weights_path, why the FID parts are skipped): one of them is None, or both (the
    project's own search finds the weights)."""
    if args.skip_fid:
        return None, args.skip_fid
    if args.dry_run:  # the tests' stand-in (tests/helpers.py): the Inception pass takes 3-4 images/s on a CPU
        from tests.helpers import write_tiny_feature_network

        return str(write_tiny_feature_network(scratch / "tiny-features.pt")), None
    if args.weights:
        return args.weights, None
    try:
        load_feature_network(None, None, allow_download=True)
    except MissingWeightsError as err:
        return None, str(err)
    return None, None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        exit_with_error(
            f"no CUDA GPU here (torch {torch.__version__} finds none): the GPU check needs one; "
            "on a CPU run it with --dry-run"
        )
    plan = DRY_PLAN if args.dry_run else GPU_PLAN
    clock = Clock(plan.hard_limit_s)
    with tempfile.TemporaryDirectory(prefix="ganlab-gpu-check-") as scratch:
        data_dir = None if args.dry_run else Path(args.data_dir)
        if data_dir is not None:
            try:  # the data every part reads, before any part: downloaded if missing, else one line
                CIFAR10DataModule(data_dir=str(data_dir)).prepare_data()
            except GanlabError as err:
                exit_with_error(err)
        weights, fid_skipped = fid_weights(args, Path(scratch))
        fid_line = None
        if fid_skipped:
            fid_line = (
                f"the FID-{plan.fid_images:,} comparison (part 2) and the FID feature pass (part 4): "
                f"{fid_skipped}"
            )
            clock.say(f"skipped: {fid_line}")
        setup = Setup(plan, args.dry_run, clock, Path(scratch), data_dir, weights, fid_skipped)
        done = run_parts(setup)
    section = report(setup, done, fid_line)
    append(args.results, section)
    print(section, flush=True)
    failed = any(outcome.failures for _, _, outcome in done)
    print(
        f"GPU check{' (dry run)' if args.dry_run else ''}: {'FAIL' if failed else 'PASS'}, "
        f"{minutes(clock.elapsed())} in all; appended to {args.results}",
        flush=True,
    )
    return FAILED_EXIT if failed else 0


if __name__ == "__main__":
    throughput.configure_logging()
    sys.exit(main())
