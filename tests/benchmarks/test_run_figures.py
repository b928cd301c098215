"""benchmarks/run_figures.py: a finished run's grids and curves become two PNGs."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from torch.utils.tensorboard import SummaryWriter

from tests.helpers import PROJECT_ROOT


@pytest.mark.slow
def test_a_runs_grids_and_curves_become_two_pngs(tmp_path):
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    for epoch in range(3):  # epoch_0000.png is written after the first epoch
        plt.imsave(run / "samples" / f"epoch_{epoch:04d}.png", np.full((16, 16, 3), epoch / 3))
    with SummaryWriter(str(run)) as writer:
        for step in range(0, 30, 5):
            for tag in ("loss/d", "loss/g", "D(x)", "D(G(z))"):
                writer.add_scalar(tag, step / 30, step)
    figures = str(tmp_path / "fig")
    command = [sys.executable, "benchmarks/run_figures.py", str(run), figures, "--epochs", "1,3"]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("fig_grids.png", "fig_curves.png"):
        image = plt.imread(tmp_path / name)
        assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0, name
