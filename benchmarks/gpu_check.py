"""The GPU check in one command: `make gpu-check` (benchmarks/gpu_check.sh runs this file).

    python benchmarks/gpu_check.py [--dry-run] [--results PATH] [--weights FILE] [--skip-fid WHY] [--data-dir]

On one CUDA GPU, in about 8 minutes, four parts with a time budget each (benchmarks/GPU_CHECK.md): 1. the
throughput table; 2. a bf16 DCGAN run that must stay finite and beat its start in FID-10k; 3. a short run of
each new architecture; 4. the FID feature pass. The section is appended to benchmarks/RESULTS.md (or
--results) and printed; exit 1 when a check failed. `--dry-run`: the same at tiny size on the CPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project, not this folder's modules by bare name
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import importlib.metadata
import json
import math
import os
import signal
import subprocess
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch

from benchmarks import throughput
from src.core.errors import GanlabError, exit_with_error
from src.data import CIFAR10DataModule
from src.data.cifar10 import FOLDER
from src.generative.checkpoint import read_checkpoint
from src.generative.nonfinite import NonFiniteError
from src.metrics.network import MissingWeightsError, load_feature_network
from src.report import final_scalars
from src.run.resume import LAST

RESULTS = throughput.ROOT / "benchmarks" / "RESULTS.md"
FAILED_EXIT = 1
NEW_ARCHITECTURES = ("sngan_resnet", "biggan")  # +experiment=<name>
START_STEP = 1  # the DCGAN's start checkpoint is written after its first batch
STARTUP_S = 60  # a training run's process start, imports and data, beyond its trainer.max_time
STOP_GRACE_S = 15  # after SIGTERM at a time limit (a training run saves and stops), then SIGKILL
OVERRUN_ALLOWED = 1.2  # part 1 starts another batch size while it would end within 1.2x its budget
PACKAGES = ("torchvision", "hydra-core", "omegaconf", "torch-fidelity")
LOSSES, SPEED = ("loss/d", "loss/g"), "perf/images_per_sec"
SAVE_AT_STEP = "benchmarks.gpu_check.SaveAtStep"  # by module name: the training process imports it


@dataclass(frozen=True)
class Plan:
    """How large each part is: the check on a GPU (the defaults), or its dry run at tiny size on a CPU."""

    device: str = "cuda"
    precision: str = "bf16-mixed"  # of the training runs of parts 2 and 3, in words
    throughput: str = (  # part 1: 5 rows x 6 batch sizes; 12 of the 30 runs compile G and D (10-20 s each)
        "--batch-sizes 64,128,256,512,1024,2048 --precisions 32,bf16-mixed --steps 40 --warmup 10 --repeats 1"
    )
    training: tuple[str, ...] = ("trainer.accelerator=gpu", "+perf=fast", "trainer.precision=bf16-mixed")
    dcgan_steps: int = 3000
    architecture_steps: int = 200
    log_every: int = 50  # trainer.log_every_n_steps: a run's images/s is that of its last this many steps
    fid_images: int = 10_000  # generated and real images of each FID
    fid_pass_images: int = 10_000
    budgets_s: dict[str, int] = field(
        default_factory=lambda: {"throughput": 230, "dcgan": 95, "architectures": 105, "fid pass": 25}
    )
    run_limit_s: int = 150  # each training run's trainer.max_time
    evaluate_limit_s: int = 120
    hard_limit_s: int = 510  # no run outlasts 8.5 min from the start: the device tool stops at 10


GPU_PLAN = Plan()
DRY_PLAN = Plan(
    device="cpu",
    precision="fp32 (bf16 makes no sense on this CPU)",
    throughput="--tiny --batch-sizes 16,32 --repeats 1",
    training=(
        "trainer.accelerator=cpu",
        "+perf=fast",
        "model.speed.compile=false",
        *throughput.TINY_OVERRIDES,
    ),
    dcgan_steps=640,  # 40 epochs of the 256 generated images: enough for the tiny G to beat its start
    architecture_steps=10,
    log_every=5,
    fid_images=256,
    fid_pass_images=16,
    budgets_s={"throughput": 15, "dcgan": 45, "architectures": 30, "fid pass": 5},
    run_limit_s=60,
    evaluate_limit_s=60,
    hard_limit_s=5 * 60,
)


def minutes(seconds: float) -> str:
    """127.4 -> '2:07'."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass(frozen=True)
class Finished:
    """A process that ended: its exit status (None: stopped at its time limit), time and output files."""

    returncode: int | None
    seconds: float
    stdout: Path
    stderr: Path

    def last_line(self) -> str:
        """The last line on stderr: where a ganlab command puts its one-line error."""
        lines = self.stderr.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output on stderr)"


def run_module(module: str, overrides: list[str], logs: Path, timeout_s: float) -> Finished:
    """`python -m <module> <overrides>` as a user runs it, into `<logs>.out|.err`, in a process group of its
    own: at the time limit it and its compile workers get SIGTERM (a run saves and stops), later SIGKILL."""
    logs.parent.mkdir(parents=True, exist_ok=True)
    out, err, started = logs.with_suffix(".out"), logs.with_suffix(".err"), time.monotonic()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        command, env = [sys.executable, "-m", module, *overrides], {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            command, cwd=throughput.ROOT, env=env, stdout=stdout, stderr=stderr, start_new_session=True
        )
        try:
            returncode: int | None = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            returncode = None
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return Finished(returncode, time.monotonic() - started, out, err)


@dataclass(frozen=True)
class TrainResult:
    """A training run: how it ended, the steps in its last checkpoint and its last logged values."""

    finished: Finished
    step: int
    scalars: dict[str, float] = field(default_factory=dict)

    @property
    def failure(self) -> str | None:
        """Why the run does not count as finished with finite losses (None: it does); what is finite, the
        run's own NaN guard decides (exit 3)."""
        code = self.finished.returncode
        if code == NonFiniteError.exit_code:
            return f"non-finite: the run's NaN guard stopped it (exit {code}): {self.finished.last_line()}"
        if code is None:
            return f"did not finish: stopped at its time limit after {self.finished.seconds:.0f} s"
        if code != 0:
            return f"failed (exit {code}): {self.finished.last_line()}"
        if not all(math.isfinite(self.scalars.get(name, math.nan)) for name in LOSSES):
            return f"no finite {' and '.join(LOSSES)} in its TensorBoard events"
        return None

    def row(self, steps: int) -> str:
        """Its cells in a Markdown table: steps, images/s, last losses, finite, run time."""
        speed = f"{self.scalars[SPEED]:,.0f}" if SPEED in self.scalars else "-"
        losses = ", ".join(f"{n}={self.scalars[n]:.3g}" for n in LOSSES if n in self.scalars) or "-"
        finite = "yes" if self.failure is None else f"NO: {self.failure}"
        return f"{self.step:,} of {steps:,} | {speed} | {losses} | {finite} | {self.finished.seconds:.0f} s |"


class SaveAtStep(L.Callback):
    """Writes the model (what `src.evaluate` reads) to `path` once, right after batch `step`: the run's
    start is scored beside its end without a second process and a second compile."""

    def __init__(self, step: int, path: str):
        self.step, self.path = step, Path(path)

    def on_train_batch_end(self, trainer: L.Trainer, *_: Any) -> None:
        if trainer.global_step == self.step and not self.path.is_file():
            trainer.save_checkpoint(self.path, weights_only=True)


@dataclass
class Setup:
    """What every part reads, the check's clock (from its start to the plan's hard limit), and the runs."""

    plan: Plan
    dry_run: bool
    scratch: Path  # run folders, logs, the reference-statistics cache: gone after the check
    data_dir: Path | None  # the folder holding cifar-10-batches-py/ (None: generated data)
    weights: str | None = None  # metrics.weights_path of the FID parts (None: the project's own search)
    fid_skipped: str | None = None  # why the FID parts do not run (None: they do)
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self, wanted_s: float = math.inf) -> float:
        """Seconds before the hard limit, at most `wanted_s`: the longest a run started now may take."""
        return max(0.0, min(wanted_s, self.plan.hard_limit_s - self.elapsed()))

    def say(self, line: str) -> None:
        print(f"[gpu-check {minutes(self.elapsed())}] {line}", file=sys.stderr, flush=True)

    def data(self) -> list[str]:
        return ["data=synthetic"] if self.data_dir is None else [f"data.data_dir={self.data_dir}"]

    def run_limit(self) -> int:
        """A training run's trainer.max_time: the plan's, less where the hard limit comes first."""
        return max(1, int(min(self.plan.run_limit_s, self.left() - STARTUP_S)))

    def training(self, steps: int, limit_s: int) -> list[str]:
        """Every training run's overrides: the plan's, `steps` batches, no in-training FID, and a time limit
        (Lightning stops the run there, and it ends normally)."""
        return [
            *self.plan.training,
            "callbacks=no_metrics",
            "trainer.max_epochs=-1",
            f"trainer.max_steps={steps}",
            f"trainer.log_every_n_steps={self.plan.log_every}",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            f"+trainer.max_time={max_time(limit_s)}",
            *self.data(),
        ]

    def evaluation(self) -> list[str]:
        """Both FIDs: only FID decides (no precision/recall k-NN), against the same cached statistics."""
        n, weights = self.plan.fid_images, [f"metrics.weights_path={self.weights}"] if self.weights else []
        settings = [
            f"device={self.plan.device}",
            f"n_samples={n}",
            f"n_real={n}",
            "prdc_k=null",
            "progress=false",
        ]
        cache = f"metrics.cache_dir={self.scratch / 'fid-cache'}"
        return [*settings, "metrics.allow_download=false", cache, *weights, *self.data()]

    def train(self, name: str, overrides: list[str], limit_s: int) -> TrainResult:
        """One `python -m src.train` run in scratch/<name> (its Hydra run folder)."""
        run_dir = self.scratch / name
        overrides = [*overrides, f"hydra.run.dir={run_dir}"]
        finished = run_module("src.train", overrides, run_dir, self.left(limit_s + STARTUP_S))
        last = run_dir / LAST
        step = int(read_checkpoint(last, mmap=True)["global_step"]) if last.is_file() else 0
        run = TrainResult(finished, step, final_scalars(run_dir) if run_dir.is_dir() else {})
        if run.failure:
            self.say(f"{name}: {run.failure}\n{finished.stderr.read_text(errors='replace')[-3000:]}")
        return run

    def evaluate(self, name: str, ckpt: Path) -> tuple[dict | None, str | None]:
        """`python -m src.evaluate`'s JSON line, or why there is none."""
        overrides, limit = [f"ckpt_path={ckpt}", *self.evaluation()], self.left(self.plan.evaluate_limit_s)
        finished = run_module("src.evaluate", overrides, self.scratch / name, limit)
        lines = finished.stdout.read_text().strip().splitlines()
        if finished.returncode == 0 and lines:
            try:
                return json.loads(lines[-1]), None
            except json.JSONDecodeError:
                pass
        if finished.returncode is None:
            return None, f"evaluation stopped at its time limit after {finished.seconds:.0f} s"
        return None, f"evaluation failed (exit {finished.returncode}): {finished.last_line()}"


def max_time(seconds: int) -> str:
    """Lightning's trainer.max_time, DD:HH:MM:SS."""
    return f"00:00:{seconds // 60:02d}:{seconds % 60:02d}"


@dataclass
class Part:
    """One part's time budget, from when it started."""

    budget_s: float
    started: float = field(default_factory=time.monotonic)

    def over(self, more_s: float = 0.0, allowed: float = 1.0) -> bool:
        """Would the part pass `allowed` times its budget after `more_s` more seconds?"""
        return time.monotonic() - self.started + more_s > self.budget_s * allowed


@dataclass
class Outcome:
    """What a part found: Markdown for the section, and one line per failed or skipped check."""

    markdown: str
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def throughput_part(setup: Setup, part: Part) -> Outcome:
    """throughput.py's rows at every batch size; the last batch sizes are dropped if time runs out."""
    argv = ["--device", setup.plan.device, *setup.plan.throughput.split(), "--fid-images", "0"]
    args = throughput.parse_args(argv + (["--data-dir", str(setup.data_dir)] if setup.data_dir else []))

    def another(took_s: float) -> bool:  # the next batch size, if it would take as long as this one
        return not part.over(took_s, OVERRUN_ALLOWED) and setup.left() >= took_s

    with tempfile.TemporaryDirectory(prefix="ganlab-check-data-") as scratch:
        args.data_dir, data_line, _ = throughput.prepare_data(Path(args.data_dir), Path(scratch), args.tiny)
        by_batch = throughput.measure_all(args, another)
    intro = [f"`python benchmarks/throughput.py {' '.join(argv)}`", f"- data: {data_line}"]
    intro += [f"- {note}" for note in throughput.notes(args)]
    if setup.dry_run:
        intro.append("- fp32 only: bf16 makes no sense on this CPU (the GPU check runs both)")
    tables = "\n\n".join(["\n".join(intro), *throughput.throughput_tables(by_batch)])
    outcome = Outcome(tables.replace("\n#", "\n##"))  # its headings go under this part's heading
    dropped = [str(b) for b in args.batch_sizes if b not in by_batch]
    if dropped:
        why = f"part 1 had used its budget of {minutes(part.budget_s)}"
        outcome.skipped.append(f"throughput at batch {', '.join(dropped)}: {why}")
    return outcome


def run_table(setup: Setup, rows: list[str], first: str | None = None) -> str:
    """Markdown: one line per training run (TrainResult.row), after a `first` column if given."""
    head = f"steps | images/s (last {setup.plan.log_every} steps) | last losses | finite | run time |"
    rule = "---:|---:|---|---|---:|"
    return "\n".join([f"| {first} | {head}\n|---|{rule}" if first else f"| {head}\n|{rule}", *rows])


def dcgan_part(setup: Setup, part: Part) -> Outcome:
    """A DCGAN run that writes its start checkpoint itself (SaveAtStep), then FID at the start vs the end."""
    start, steps, limit = setup.scratch / "start.ckpt", setup.plan.dcgan_steps, setup.run_limit()
    overrides = setup.training(steps, limit)
    save = {"_target_": SAVE_AT_STEP, "step": START_STEP, "path": start}
    setup.say(f"DCGAN: {steps:,} steps")
    run = setup.train("dcgan", overrides + [f"+callbacks.start.{k}={v}" for k, v in save.items()], limit)
    finite = "**PASS**: exit 0" if run.failure is None else f"**FAIL**: {run.failure}"
    lines = [f"`python -m src.train {' '.join(overrides)}`", "", run_table(setup, [f"| {run.row(steps)}"])]
    lines += ["", f"- finite: {finite}"]
    if run.failure is None and run.step < steps:
        lines.append(f"- stopped by its trainer.max_time of {max_time(limit)} before the last step")
    outcome = Outcome("\n".join(lines))
    if run.failure:
        outcome.failures.append(f"DCGAN run: {run.failure}")
    elif setup.fid_skipped:
        outcome.markdown += "\n- FID: not run (see skipped above)"
    elif not start.is_file():
        outcome.failures.append(f"DCGAN run: no start checkpoint at {start.name}")
    else:
        fid = fid_comparison(setup, start, setup.scratch / "dcgan" / LAST, run.step)
        outcome.markdown += "\n\n" + fid.markdown
        outcome.failures += fid.failures
    return outcome


def fid_comparison(setup: Setup, start: Path, end: Path, end_step: int) -> Outcome:
    """FID of the start and the end checkpoint against the same reference; the end must be lower."""
    n, scores, failed = setup.plan.fid_images, [], []
    for name, ckpt in (("start", start), ("end", end)):
        setup.say(f"FID-{n:,} of the {name} checkpoint")
        score, failure = setup.evaluate(f"evaluate-{name}", ckpt)
        scores.append(score)
        failed += [f"FID of the {name} checkpoint: {failure}"] if failure else []
    if failed:
        return Outcome("FID: not compared: " + "; ".join(failed), failures=failed)
    first, last = scores
    (sha, n_real), reference = [(s["protocol"]["data_sha256"], s["protocol"]["n_real"]) for s in scores]
    same, better = (sha, n_real) == reference, last["fid"] < first["fid"]
    lines = [
        f"| checkpoint | step | FID-{n:,} | KID |\n|---|---:|---:|---:|",
        f"| start | {START_STEP} | {first['fid']:.2f} | {first['kid']:.4f} |",
        f"| end | {end_step:,} | {last['fid']:.2f} | {last['kid']:.4f} |\n",
        f"- FID: **{'PASS' if better and same else 'FAIL'}**: {last['fid']:.2f} at the end "
        f"{'<' if better else '>='} {first['fid']:.2f} at the start; {n:,} samples of the EMA generator "
        f"against {n_real:,} real images (data sha256 {sha[:12]}...), "
        f"{'the same' if same else 'NOT the same'} reference statistics for both",
        f"- `python -m src.evaluate ckpt_path=<checkpoint> {' '.join(setup.evaluation())}`",
    ]
    if not same:
        failed.append("FID: the two checkpoints were scored against different reference statistics")
    elif not better:
        failed.append(f"FID: the end ({last['fid']:.2f}) does not beat the start ({first['fid']:.2f})")
    return Outcome("\n".join(lines), failures=failed)


def architectures_part(setup: Setup, part: Part) -> Outcome:
    """A short run of each new architecture's experiment: speed and finite losses."""
    steps, rows, failures = setup.plan.architecture_steps, [], []
    for name in NEW_ARCHITECTURES:
        setup.say(f"+experiment={name}: {steps} steps")
        limit = setup.run_limit()
        run = setup.train(name, [f"+experiment={name}", *setup.training(steps, limit)], limit)
        failures += [f"+experiment={name}: {run.failure}"] if run.failure else []
        rows.append(f"| `+experiment={name}` | {run.row(steps)}")
    command = " ".join(["+experiment=<name>", *setup.training(steps, setup.plan.run_limit_s)])
    finite = f"- finite: {'**FAIL**' if failures else '**PASS**'} (a run's own NaN guard exits 3)"
    table = run_table(setup, rows, first="experiment")
    return Outcome(f"`python -m src.train {command}`\n\n{table}\n\n{finite}", failures)


def fid_pass_part(setup: Setup, part: Part) -> Outcome:
    if setup.fid_skipped:
        return Outcome("not run (see skipped above)")
    with throughput.isolated_run():
        device, n = torch.device(setup.plan.device), setup.plan.fid_pass_images
        table = throughput.measure_fid_pass(device, n, setup.weights)
    return Outcome(table, skipped=[table] if table.startswith("FID feature pass: not measured") else [])


def parts(plan: Plan) -> list[tuple[str, str, Callable[[Setup, Part], Outcome]]]:
    """(budget key, title, runner) of each part, in order."""
    both = "fp32" if plan.device == "cpu" else "fp32 and bf16-mixed"
    dcgan = f"DCGAN, {plan.dcgan_steps:,} steps, {plan.precision}, +perf=fast: finite, and a better FID-"
    new = f"New architectures, {plan.architecture_steps} steps each, {plan.precision}, +perf=fast"
    return [
        (
            "throughput",
            f"Training throughput: plain loop vs ganlab default vs +perf=fast, {both}",
            throughput_part,
        ),
        ("dcgan", f"{dcgan}{plan.fid_images:,} than at its start", dcgan_part),
        ("architectures", new, architectures_part),
        ("fid pass", f"FID feature pass, {plan.fid_pass_images:,} images", fid_pass_part),
    ]


def run_parts(setup: Setup) -> list[tuple[str, Outcome]]:
    """Every part in order, as (heading, outcome); one that raises is a failure, and the others still run."""
    done, plan = [], parts(setup.plan)
    for number, (key, title, runner) in enumerate(plan, start=1):
        label, budget, heading = f"part {number}/{len(plan)}", setup.plan.budgets_s[key], f"{number}. {title}"
        if setup.left() <= 0:
            done.append((heading, Outcome("not run", failures=[f"part {number}: no time left"])))
            continue
        setup.say(f"{label}: {title} (budget {minutes(budget)}, {minutes(setup.left())} left)")
        part = Part(budget)
        try:
            outcome = runner(setup, part)
        except Exception as err:  # a bug or a CUDA error: recorded, and the other parts still run
            traceback.print_exc()
            why = f"part {number} raised {type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
            outcome = Outcome(f"**FAIL**: {why}", failures=[why])
        took, within = minutes(time.monotonic() - part.started), "over" if part.over() else "within"
        setup.say(f"{label} done in {took} ({within} budget {minutes(budget)})")
        done.append((f"{heading} (budget {minutes(budget)}, took {took})", outcome))
    return done


def report(setup: Setup, done: list[tuple[str, Outcome]]) -> str:
    """The section appended to RESULTS.md: the header, the verdict, then each part."""
    failures = [line for _, outcome in done for line in outcome.failures]
    skipped = ([fid_line(setup)] if setup.fid_skipped else []) + [line for _, o in done for line in o.skipped]
    total, budget = setup.elapsed(), sum(setup.plan.budgets_s.values())
    packages = []
    for package in PACKAGES:
        try:
            packages.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            packages.append(f"{package} (not installed)")
    notes = [
        f"result: **{'FAIL' if failures else 'PASS'}**" + (": " + "; ".join(failures) if failures else ""),
        *(f"skipped: {line}" for line in skipped),
        f"time: {minutes(total)} in all "
        f"({'within' if total <= budget else 'over'} the plan of {minutes(budget)})",
        f"packages: {', '.join(packages)}",
    ]
    if setup.dry_run:
        notes.append(
            "dry run: tiny nets, generated data and a tiny stand-in for the Inception network on the CPU: it "
            "shows that every step works, not how fast or how good anything is"
        )
    if setup.data_dir is not None:
        data = f"CIFAR-10 from {setup.data_dir / FOLDER} (training runs and FID; part 1 says its own)"
    else:
        data = "generated: data=synthetic for the training runs and FID, --tiny's own files for part 1"
    title = "GPU check, dry run on CPU" if setup.dry_run else f"GPU check: {torch.cuda.get_device_name()}"
    header = throughput.header(torch.device(setup.plan.device), data, notes, title=title)
    return "\n\n".join([header, *(f"### {heading}\n\n{outcome.markdown}" for heading, outcome in done)])


def fid_line(setup: Setup) -> str:
    which = f"the FID-{setup.plan.fid_images:,} comparison (part 2) and the FID feature pass (part 4)"
    return f"{which}: {setup.fid_skipped}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = throughput.OneLineParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="the same steps at tiny size on the CPU")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the Markdown file the section goes to")
    parser.add_argument("--weights", help="the FID Inception weights file (metrics.weights_path)")
    parser.add_argument("--skip-fid", metavar="REASON", help="do not run the FID parts, and say why")
    variable = throughput.DATA_DIR_VARIABLE
    where = f"folder holding cifar-10-batches-py/ (default: ${variable} or data; downloaded if missing)"
    parser.add_argument("--data-dir", default=os.environ.get(variable, "data"), help=where)
    args = parser.parse_args(argv)
    if args.weights and not Path(args.weights).is_file():
        parser.error(f"argument --weights: {args.weights!r} is not a file")
    return args


def fid_weights(args: argparse.Namespace, scratch: Path) -> tuple[str | None, str | None]:
    """(metrics.weights_path, why the FID parts are skipped): one of them is None, or both (the project's
    own search finds the weights)."""
    if args.skip_fid:
        return None, args.skip_fid
    if args.dry_run:  # the tests' stand-in: the Inception pass takes 3-4 images/s on a CPU
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
        no_gpu = f"no CUDA GPU here (torch {torch.__version__} finds none): the GPU check needs one"
        exit_with_error(f"{no_gpu}; on a CPU run it with --dry-run")
    with tempfile.TemporaryDirectory(prefix="ganlab-gpu-check-") as scratch:
        plan, data_dir = (DRY_PLAN, None) if args.dry_run else (GPU_PLAN, Path(args.data_dir))
        setup = Setup(plan, args.dry_run, Path(scratch), data_dir)
        if data_dir is not None:
            try:  # the data every part reads, before any part: downloaded if missing, else one line
                CIFAR10DataModule(data_dir=str(data_dir)).prepare_data()
            except GanlabError as err:
                exit_with_error(err)
        setup.weights, setup.fid_skipped = fid_weights(args, Path(scratch))
        if setup.fid_skipped:
            setup.say(f"skipped: {fid_line(setup)}")
        done = run_parts(setup)
    section = report(setup, done)
    existing = args.results.read_text() if args.results.is_file() else ""
    with open(args.results, "a") as f:  # after one blank line
        f.write(("\n" if existing.endswith("\n") else "\n\n" if existing else "") + section + "\n")
    print(section, flush=True)
    failed = any(outcome.failures for _, outcome in done)
    verdict = f"{'FAIL' if failed else 'PASS'}, {minutes(setup.elapsed())} in all; appended to {args.results}"
    print(f"GPU check{' (dry run)' if args.dry_run else ''}: {verdict}", flush=True)
    return FAILED_EXIT if failed else 0


if __name__ == "__main__":
    throughput.configure_logging()
    sys.exit(main())
