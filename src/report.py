"""Compare the jobs of a sweep: `python -m src.report outputs/multirun/<sweep> [--metric NAME]`.

For each job folder (one with `.hydra/overrides.yaml`) it reads the job's overrides and the last
value of every scalar in its TensorBoard event files, and writes into the sweep folder:

- report.csv and report.md: one row per job: its status (ok; running; stopped at step N of M; killed
  after step N of M; failed: why; not started, for a job of the sweep's plan that has no folder), the
  swept overrides, the other overrides, then the final value of every scalar (the table is also
  printed);
- report_<metric>.png: the chosen metric against each hyper-parameter that differs between jobs.

The default metric is `metrics/fid` when the runs logged it, else `metrics/fid_cnn`, else `loss/g`.
"""

from __future__ import annotations

from src.core.signals import stop_at_once

if __name__ == "__main__":
    stop_at_once()  # a Ctrl-C is one line

import argparse
import csv
import math
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.core.errors import GanlabError, exit_with_error
from src.metrics.registry import REPORT_DEFAULTS
from src.run.attempt import STATUS_FILE, lock_holder, read_status
from src.run.sweep import FAILURE_FILE, PLAN_FILE, failed_jobs, planned_jobs

JOB_COLUMN = "job"
STATUS_COLUMN = "status"
DIR_COLUMN = "_dir"  # the job's folder: not a column of the table


def read_overrides(job_dir: Path) -> dict[str, str]:
    """The job's command-line overrides as key -> value (`+`/`++` prefixes dropped)."""
    path = job_dir / ".hydra" / "overrides.yaml"
    lines = (yaml.safe_load(path.read_text()) or []) if path.is_file() else []
    return as_overrides(lines)


def as_overrides(lines: list) -> dict[str, str]:
    overrides = {}
    for line in lines:
        key, _, value = str(line).partition("=")
        overrides[key.lstrip("+")] = value
    return overrides


def final_events(job_dir: Path) -> dict:
    """The last logged event (highest step) of every scalar in the job's TensorBoard event files."""
    accumulator = EventAccumulator(str(job_dir), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {tag: accumulator.Scalars(tag)[-1] for tag in accumulator.Tags()["scalars"]}


def final_scalars(job_dir: Path) -> dict[str, float]:
    """The last logged value of every scalar in the job's TensorBoard event files."""
    return {tag: event.value for tag, event in final_events(job_dir).items()}


def job_status(job_dir: Path, failure: str | None, has_scalars: bool, last_step: int | None) -> str:
    """What became of a job: from its lock (running), its status.json and failure.txt."""
    status = read_status(job_dir)
    step = status.get("step") if last_step is None else max(last_step, status.get("step") or 0)
    of = f" of {status['steps']}" if status.get("steps") else ""
    holder = lock_holder(job_dir)
    if holder:
        return f"running (step {step}{of}; {holder})"
    state = status.get("state")
    if state == "finished":
        return "ok"
    if state == "stopped":
        return f"stopped at step {status['step']}{of}"
    if state in ("failed", "diverged"):
        return f"failed: {status.get('reason', state)}"
    if state == "running":  # no live holder: the process ended without a word (kill -9, power)
        return f"killed after step {step}{of}"
    if failure is not None:
        return f"failed: {failure}"
    return "ok" if has_scalars else "no results"


def _job_dirs(sweep_dir: Path) -> list[Path]:
    marks = (".hydra/overrides.yaml", FAILURE_FILE, STATUS_FILE)
    return sorted(
        {
            p.parent.parent if p.name == "overrides.yaml" else p.parent
            for m in marks
            for p in sweep_dir.glob(f"**/{m}")
        }
    )


def planned(sweep_dir: Path) -> dict[str, list[str]]:
    """Job number -> overrides of every job the sweep planned (its multirun.yaml); {} when unknown."""
    plan_file = sweep_dir / PLAN_FILE
    if not plan_file.is_file():
        return {}
    try:
        plan = planned_jobs(OmegaConf.load(plan_file))
    except Exception:  # a plan this version cannot read: list only the jobs that have folders
        return {}
    if isinstance(plan, int):  # Optuna: the number of trials (their values are drawn when they start)
        return {str(i): [] for i in range(plan)}
    return {str(i): job for i, job in enumerate(plan)}


def collect(sweep_dir: Path) -> list[dict[str, object]]:
    """One row per job folder under sweep_dir: {job, <override keys>..., <scalar tags>...}."""
    # a job folder is <sweep>/<n>_<overrides>; an override value with a slash nests it deeper
    job_number = {p: p.relative_to(sweep_dir).parts[0].split("_", 1)[0] for p in _job_dirs(sweep_dir)}
    jobs = sorted(
        job_number, key=lambda p: (int(job_number[p]) if job_number[p].isdigit() else math.inf, str(p))
    )
    plan = planned(sweep_dir)
    if not jobs and not plan:
        raise GanlabError(
            f"{str(sweep_dir)!r} holds no job folders: give a sweep folder, outputs/multirun/<sweep>"
        )
    failures = failed_jobs(sweep_dir)
    rows = []
    for job in jobs:
        events = final_events(job)
        scalars = {tag: event.value for tag, event in events.items()}
        last_step = max((event.step for event in events.values()), default=None)
        status = job_status(job, failures.get(job), bool(scalars), last_step)
        rows.append(
            {
                JOB_COLUMN: job_number[job],
                STATUS_COLUMN: status,
                **read_overrides(job),
                **scalars,
                DIR_COLUMN: job,
            }
        )
    started = set(job_number.values())
    for number, overrides in plan.items():
        if number not in started:
            rows.append({JOB_COLUMN: number, STATUS_COLUMN: "not started", **as_overrides(overrides)})
    return sorted(rows, key=lambda r: int(r[JOB_COLUMN]) if str(r[JOB_COLUMN]).isdigit() else math.inf)


def swept_keys(rows: list[dict[str, object]], metrics: set[str]) -> list[str]:
    """Override keys whose value differs between jobs (the hyper-parameters of the sweep)."""
    keys = [k for k in columns(rows) if k not in (JOB_COLUMN, STATUS_COLUMN) and k not in metrics]
    return [k for k in keys if len({str(r.get(k, "")) for r in rows}) > 1]


def columns(rows: list[dict[str, object]]) -> list[str]:
    """All keys of all rows, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(k for k in row if k != DIR_COLUMN))
    return list(seen)


def format_cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def to_markdown(rows: list[dict[str, object]], keys: list[str]) -> str:
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(format_cell(row.get(k)) for k in keys) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict[str, object]], keys: list[str], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def default_metric(rows: list[dict[str, object]]) -> str:
    present = set(columns(rows))
    return next((m for m in REPORT_DEFAULTS if m in present), REPORT_DEFAULTS[-1])


def plot(rows: list[dict[str, object]], metric: str, params: list[str], path: Path) -> None:
    """One panel per swept hyper-parameter: the metric of each job against that parameter's value."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    params = params or [JOB_COLUMN]
    fig, axes = plt.subplots(1, len(params), figsize=(4.5 * len(params), 3.5), squeeze=False)
    for ax, param in zip(axes[0], params):
        points = [(str(r.get(param, "")), r[metric]) for r in rows if isinstance(r.get(metric), float)]
        labels = list(dict.fromkeys(x for x, _ in points))
        try:  # numeric values on a numeric axis, anything else as categories in sweep order
            xs = [float(x) for x, _ in points]
        except ValueError:
            xs = [labels.index(x) for x, _ in points]
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
            ax.margins(x=0.2)
        ax.plot(xs, [y for _, y in points], "o")
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def last_grid(job_dir: Path) -> Path | None:
    """The job's last sample grid: its end-of-training one, else its latest epoch's."""
    grids = sorted((job_dir / "samples").glob("final_step_*.png")) or sorted(
        (job_dir / "samples").glob("epoch_*.png")
    )
    return grids[-1] if grids else None


def plot_grids(rows: list[dict[str, object]], metric: str, params: list[str], path: Path) -> None:
    """Every job's last sample grid side by side, titled with its swept values and `metric`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(r, last_grid(r[DIR_COLUMN])) for r in rows if DIR_COLUMN in r]
    shown = [(r, grid) for r, grid in shown if grid is not None]
    if not shown:
        return
    fig, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.0), squeeze=False)
    for ax, (row, grid) in zip(axes[0], shown):
        ax.imshow(plt.imread(grid))
        ax.set_axis_off()
        swept = ", ".join(str(row.get(p, "")) for p in params) or f"job {row[JOB_COLUMN]}"
        value = f"\n{metric.split('/')[-1]} {row[metric]:.1f}" if isinstance(row.get(metric), float) else ""
        ax.set_title(f"{swept}{value}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(sweep_dir: Path, metric: str | None = None) -> tuple[list[dict[str, object]], str]:
    """Write report.csv, report.md, report_<metric>.png and report_grids.png (every job's last sample
    grid) into sweep_dir; return the rows and the table."""
    rows = collect(sweep_dir)
    metrics = {tag for row in rows for tag, v in row.items() if isinstance(v, float)}
    if metric is not None and metric not in metrics and metrics:
        raise GanlabError(
            f"--metric {metric!r} was not logged by these jobs: use one of {', '.join(sorted(metrics))}"
        )
    metric = metric or default_metric(rows)
    params = swept_keys(rows, metrics)
    fixed = [k for k in columns(rows) if k not in (JOB_COLUMN, STATUS_COLUMN, *metrics, *params)]
    keys = [JOB_COLUMN, STATUS_COLUMN, *params, *fixed, *sorted(metrics)]
    table = to_markdown(rows, keys)
    write_csv([{k: r.get(k) for k in keys} for r in rows], keys, sweep_dir / "report.csv")
    (sweep_dir / "report.md").write_text(table)
    if metric in metrics:  # a sweep whose jobs all failed has a table of them and no plot
        plot(rows, metric, params, sweep_dir / f"report_{metric.replace('/', '_')}.png")
    plot_grids(rows, metric, params, sweep_dir / "report_grids.png")
    return [{k: v for k, v in r.items() if k != DIR_COLUMN} for r in rows], table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m src.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun folder, outputs/multirun/<sweep>")
    parser.add_argument(
        "--metric",
        default=None,
        help="scalar to plot (default: metrics/fid, else metrics/fid_cnn, else loss/g)",
    )
    args = parser.parse_args(argv)
    try:
        _, table = report(args.sweep_dir, args.metric)
    except GanlabError as err:
        exit_with_error(err)
    print(table, end="")


if __name__ == "__main__":
    main()
