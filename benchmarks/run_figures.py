"""The figures of one finished run for benchmarks/RESULTS.md and README: its sample grids at chosen
epochs side by side, and its loss/d, loss/g, D(x) and D(G(z)) curves against the course's expectations.

    python benchmarks/run_figures.py RUN_DIR OUT_PREFIX [--epochs 1,5,10,25]

writes OUT_PREFIX_grids.png and OUT_PREFIX_curves.png (small PNGs, fit to commit).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

CURVES = ("loss/d", "loss/g", "D(x)", "D(G(z))")
# what the course says a healthy DCGAN shows: D's loss between these, neither net winning outright
EXPECTED_D_LOSS = (0.3, 0.7)
SMOOTH = 20  # logged points in the running mean drawn over each curve
DPI = 80


def grids(run: Path, epochs: list[int], out: Path) -> None:
    fig, axes = plt.subplots(1, len(epochs), figsize=(2.4 * len(epochs), 2.6), squeeze=False)
    for ax, epoch in zip(axes[0], epochs):
        # the grid callback names a grid by Lightning's epoch index: epoch_0000.png after the first one
        ax.imshow(plt.imread(run / "samples" / f"epoch_{epoch - 1:04d}.png"))
        ax.set_title(f"epoch {epoch}", fontsize=9)
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def curves(run: Path, out: Path, steps_per_epoch: int) -> None:
    events = EventAccumulator(str(run), size_guidance={"scalars": 0})
    events.Reload()
    fig, axes = plt.subplots(1, len(CURVES), figsize=(3.2 * len(CURVES), 2.6))
    for ax, tag in zip(axes, CURVES):
        points = events.Scalars(tag)
        x, y = [p.step / steps_per_epoch for p in points], [p.value for p in points]
        ax.plot(x, y, lw=0.5, alpha=0.35)
        mean = [statistics.fmean(y[max(0, i - SMOOTH + 1) : i + 1]) for i in range(len(y))]
        ax.plot(x, mean, lw=1.2, color="C0", label=f"mean of {SMOOTH} points")
        if tag == "loss/d":
            ax.axhspan(*EXPECTED_D_LOSS, color="green", alpha=0.12, label="course: 0.3-0.7")
            ax.legend(fontsize=7)
        ax.set_title(tag, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("out_prefix")
    parser.add_argument("--epochs", default="1,5,10,25")
    parser.add_argument("--steps-per-epoch", type=int, default=781, help="50,000 // 64 (the default run)")
    args = parser.parse_args()
    grids(args.run, [int(e) for e in args.epochs.split(",")], Path(f"{args.out_prefix}_grids.png"))
    curves(args.run, Path(f"{args.out_prefix}_curves.png"), args.steps_per_epoch)


if __name__ == "__main__":
    main()
