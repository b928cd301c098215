"""Every metric a run logs that something else reads, registered once: its name, whether higher is
better (the direction a sweeper optimises it in), whether it is an HPARAMS column in TensorBoard, and
its rank as `src.report`'s default metric. The callbacks that compute them name them from here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool = False
    column: bool = False  # shown beside each run's hyper-parameters (HPARAMS)
    report_rank: int | None = None  # src.report plots the lowest-ranked metric a sweep logged


def score(name: str, raw: bool = False) -> str:
    """The logged name of a score of the FID callback (`fid`, `kid`, `precision`, ...), `_raw` for the
    raw generator's."""
    return f"metrics/{name}{'_raw' if raw else ''}"


FID, FID_CNN = score("fid"), score("fid_cnn")
CLASSIFIER_SCORES = ("fid_cnn", "class_entropy", "class_acc")  # logged by the classifier metrics callback

METRICS = (
    Metric(FID, column=True, report_rank=1),
    Metric(score("kid"), column=True),
    Metric(score("precision"), higher_is_better=True, column=True),
    Metric(score("recall"), higher_is_better=True, column=True),
    Metric(score("density"), higher_is_better=True),
    Metric(score("coverage"), higher_is_better=True),
    Metric(FID_CNN, column=True, report_rank=2),
    Metric(score("class_entropy"), higher_is_better=True),
    Metric(score("class_acc"), higher_is_better=True),
    Metric("loss/d", column=True),
    Metric("loss/g", column=True, report_rank=3),
    Metric("D(x)", higher_is_better=True, column=True),
    Metric("D(G(z))", column=True),
    Metric("critic/gap", column=True),
    Metric("train/acc", higher_is_better=True),
    Metric("test/acc", higher_is_better=True),
)
BY_NAME = {m.name: m for m in METRICS}
COLUMNS = tuple(m.name for m in METRICS if m.column)
REPORT_DEFAULTS = tuple(m.name for m in sorted(METRICS, key=lambda m: m.report_rank or 0) if m.report_rank)


def direction(name: str | None) -> str:
    """`maximize` for a metric where higher is better, else `minimize` (FID, KID, losses, unknown)."""
    metric = BY_NAME.get(name or "")
    return "maximize" if metric is not None and metric.higher_is_better else "minimize"
