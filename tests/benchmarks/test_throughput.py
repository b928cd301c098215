"""benchmarks/throughput.py: the tiny end-to-end run, its input checks, the data every row reads and the
FID feature pass it also times."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from benchmarks import throughput
from benchmarks.plain_loop import CIFAR10Pickles, example_transform, make_loader
from src.data import CIFAR10DataModule
from src.metrics import network as network_module
from tests.helpers import PROJECT_ROOT, write_cifar10, write_tiny_feature_network

ROWS = ("plain PyTorch loop (reference)", "ganlab default", "ganlab fast")


def run_throughput(*args: str) -> subprocess.CompletedProcess:
    # one OpenMP thread: the test's speed is not measured, and it shares the machine with other work
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "benchmarks/throughput.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def table_rows(stdout: str, heading: str) -> list[list[str]]:
    """The body rows of the Markdown table under `heading`, as lists of cells."""
    section = stdout.split(heading, 1)[1].split("\n### ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]  # skip header and rule
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("x"))


@pytest.mark.slow
def test_tiny_run_prints_every_row_with_positive_numbers_and_a_scaling_table():
    result = run_throughput("--tiny", "--repeats", "2", "--batch-sizes", "8,16")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for field in (
        "- device: CPU",
        "- commit: ",
        f"torch {torch.__version__}",
        "lightning ",
        "- data: synthetic",
    ):
        assert field in out
    for batch_size in (8, 16):
        rows = table_rows(out, f"### batch size {batch_size}")
        assert [r[0] for r in rows] == list(ROWS)
        for name, _config, precision, median, spread, ratio in rows:
            low, high = (number(v) for v in spread.split(" - "))
            assert 0 < low <= number(median) <= high, name
            assert number(ratio) > 0 and precision
        assert rows[0][5] == "1.00x"  # the reference divided by itself
        assert "+perf=fast" in rows[2][1]
    scaling = table_rows(out, "### scaling with the batch size")
    assert [r[0] for r in scaling] == ["8", "16"]
    assert all(number(cell) > 0 for row in scaling for cell in row)


@pytest.mark.slow
def test_tiny_run_with_precisions_and_architectures_prints_their_rows_with_positive_numbers():
    result = run_throughput(
        "--tiny",
        "--repeats",
        "1",
        "--batch-sizes",
        "8",
        "--precisions",
        "32,bf16-mixed",
        "--architectures",
        "dcgan,sngan_resnet,biggan",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = table_rows(result.stdout, "### batch size 8")
    assert [(r[0], r[2]) for r in rows] == [
        (ROWS[0], "32 (fp32)"),  # the yardstick stays fp32
        ("ganlab default, 32", "32-true"),
        ("ganlab default, bf16-mixed", "bf16-mixed"),
        ("ganlab fast, 32", "32-true"),
        ("ganlab fast, bf16-mixed", "bf16-mixed"),
    ]
    assert "trainer.precision=bf16-mixed" in rows[4][1] and "+perf=fast" in rows[4][1]
    assert all(number(r[3]) > 0 for r in rows)

    arch = table_rows(result.stdout, "### architectures, batch size 8")
    assert [r[0] for r in arch] == ["`dcgan`", "`sngan_resnet`", "`biggan`"]
    for _name, g_params, d_params, _d_steps, precision, median, spread, ratio in arch:
        low, high = (number(v) for v in spread.split(" - "))
        assert number(g_params) > 0 and number(d_params) > 0 and precision == "32-true"
        assert 0 < low <= number(median) <= high and number(ratio) > 0
    assert [r[3] for r in arch] == ["1", "5", "5"]  # model.n_critic of each
    assert arch[0][7] == "1.00x"  # dcgan is the reference
    assert number(arch[2][1]) > number(arch[0][1])  # BigGAN's G is larger than DCGAN's, also when tiny


@pytest.mark.parametrize(
    "args,named",
    [
        (["--batch-sizes", "0"], "--batch-sizes: '0'"),
        (["--batch-sizes", "64,x"], "--batch-sizes: '64,x'"),
        (["--steps", "0"], "--steps: '0'"),
        (["--repeats", "-1"], "--repeats: '-1'"),
        (["--tiny", "--batch-sizes", "1000"], "--batch-sizes=1000 is larger than the 320 images"),
        (["--precisions", "32,64"], "--precisions: '64' is unknown: use one of 32, 32-true, 16-mixed"),
        (
            ["--architectures=dcgan,nope"],
            "--architectures: 'nope' is unknown: use one of biggan, cdcgan, dcgan, mlp_gan, sngan_resnet",
        ),
        (["--architectures", "ddpm"], "--architectures: 'ddpm' is unknown"),  # not a GAN
    ],
)
def test_bad_input_is_one_line_naming_the_value(args, named, capsys):
    try:
        code = throughput.main(args)
    except SystemExit as exit_:  # argparse's checks exit; the data check returns
        code = exit_.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], lines


def test_plain_loop_dataset_reads_the_official_pickle_layout(tmp_path):
    images, labels = write_cifar10(tmp_path, per_batch=20)
    dataset = CIFAR10Pickles(tmp_path / throughput.FOLDER)
    assert len(dataset) == 100
    for index in (0, 57, 99):  # first file, a middle one, the last
        image, label = dataset[index]
        assert image.size == (32, 32) and image.mode == "RGB"
        assert np.array_equal(
            np.asarray(image), images[index].transpose(1, 2, 0)
        )  # channel-major rows -> HWC
        assert label == labels[index]

    transformed = CIFAR10Pickles(tmp_path / throughput.FOLDER, example_transform())
    for index in (0, 57, 99):
        tensor, _ = transformed[index]
        expected = torch.from_numpy(images[index]).float() / 127.5 - 1  # ToTensor + Normalize(0.5, 0.5)
        assert tensor.shape == (3, 32, 32) and torch.allclose(tensor, expected, atol=1e-6)

    loader = make_loader(tmp_path / throughput.FOLDER, batch_size=32, workers=0)
    assert len(loader) == 100 // 32  # the incomplete last batch is dropped
    batch, batch_labels = next(iter(loader))
    assert batch.shape == (32, 3, 32, 32) and batch.dtype == torch.float32 and batch_labels.shape == (32,)


def test_benchmark_uses_cifar10_when_present_and_a_stand_in_both_loops_read_otherwise(tmp_path):
    write_cifar10(tmp_path / "real", per_batch=20)
    folder, line, count = throughput.prepare_data(tmp_path / "real", tmp_path / "scratch", tiny=False)
    assert folder == tmp_path / "real" and count == 100 and "CIFAR-10" in line

    folder, line, count = throughput.prepare_data(tmp_path / "empty", tmp_path / "scratch", tiny=True)
    assert folder == tmp_path / "scratch" and count == throughput.TINY_IMAGES and "synthetic" in line
    plain = CIFAR10Pickles(folder / throughput.FOLDER)
    framework = CIFAR10DataModule(data_dir=str(folder), download=False)
    framework.setup("fit")
    assert len(plain) == len(framework.images) == throughput.TINY_IMAGES
    assert np.array_equal(plain.data, framework.images.permute(0, 2, 3, 1).numpy())  # the same pixels


@pytest.mark.slow
def test_fid_feature_pass_is_measured_or_says_why_not(tmp_path, monkeypatch):

    monkeypatch.setenv("GANLAB_INCEPTION_WEIGHTS", str(write_tiny_feature_network(tmp_path / "tiny.pt")))
    write_cifar10(tmp_path / "data", per_batch=4)
    table = throughput.measure_fid_pass(torch.device("cpu"), 16, data_dir=tmp_path / "data")
    rows = [line.split("|")[1:-1] for line in table.strip().splitlines()[-2:]]
    assert "FID feature pass (torchscript:tiny.pt" in table and "the first CIFAR-10 training images" in table
    assert [r[0].strip() for r in rows] == ["plain", "ganlab"]
    for _name, images, _seconds, rate, ratio, _fid in rows:
        assert int(images) == 16 and float(rate.replace(",", "")) > 0 and float(ratio.rstrip("x ")) > 0
    plain_fid, ganlab_fid = (float(r[5]) for r in rows)
    assert plain_fid > 0 and abs(plain_fid - ganlab_fid) < 1e-3  # the same images, the same FID

    monkeypatch.delenv("GANLAB_INCEPTION_WEIGHTS")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(network_module, "fid_helper_candidates", lambda cache: [tmp_path / "none.pt"])
    assert throughput.measure_fid_pass(torch.device("cpu"), 8).startswith(
        "FID feature pass: not measured (no Inception"
    )
