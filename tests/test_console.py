"""What a student's console shows, in an 80-column terminal (a pseudo-terminal): no accelerator roll call,
no all-zero FLOPs table, epochs counted from 1, the losses on the progress bar's own line, and the
md5 warning once per sweep, not once per job."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, write_cifar10

pytestmark = pytest.mark.slow
COLUMNS = 80


def in_a_terminal(*args: str) -> str:
    """`python -m src.train ARGS` in an 80x40 pseudo-terminal; everything it wrote, `\\r` as new lines."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {**os.environ, "COLUMNS": str(COLUMNS), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "src.train", *args]
    proc = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait(timeout=600) == 0, output.decode(errors="replace")[-3000:]
    os.close(master)
    return output.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    write_cifar10(root, per_batch=40)  # files of our own: their md5 is not the release's
    return root


def test_a_run_says_what_it_trains_and_counts_epochs_from_one_on_one_line(cifar, tmp_path):
    out = in_a_terminal(
        f"data.data_dir={cifar}", "data.batch_size=20", "trainer.max_epochs=2", "callbacks=no_metrics",
        f"hydra.run.dir={tmp_path / 'run'}",
    )  # fmt: skip
    assert "GPU available" not in out and "TPU available" not in out
    assert "FLOPs" not in out and "┏" not in out  # no summary table
    assert "generator: DCGANGenerator 1.07M parameters, discriminator: DCGANDiscriminator 0.66M" in out
    bars = [line for line in out.splitlines() if line.startswith("Epoch ")]
    assert bars and {line.split(":")[0] for line in bars} == {"Epoch 1/2", "Epoch 2/2"}  # not "Epoch 0/1"
    assert all(len(line) <= COLUMNS for line in bars), max(bars, key=len)
    assert all("loss/d=" in line and "loss/g=" in line for line in bars if "10/10" in line)
    assert "v_num" not in out
    assert "Training:" not in out  # Lightning's empty bar before the first epoch's
    assert "epoch 1: " in out and "epoch 0: " not in out  # the epoch's speed line counts from 1 too


def test_a_sweep_warns_about_the_data_once(cifar, tmp_path):
    out = in_a_terminal(
        "-m", f"data.data_dir={cifar}", "data.batch_size=20", "trainer.max_epochs=1", "callbacks=no_metrics",
        "model.latent_dim=8,16", f"hydra.sweep.dir={tmp_path / 'sweep'}", "trainer.enable_progress_bar=false",
    )  # fmt: skip
    assert out.count("differ from the official release") == 1
    assert out.count("generator: DCGANGenerator") == 2  # both jobs ran
