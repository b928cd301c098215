"""benchmarks/gpu_check.py and gpu_check.sh: the dry run writes every part with positive numbers, a
failed check still writes its section and exits 1, no GPU is one line, and the shell script finds the
two parts of the Inception weights (or says which is missing)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import gpu_check
from tests.helpers import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "benchmarks" / "gpu_check.sh"
EARLIER = "# results\n\nwhat was there before\n"


def run_script(*args: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def part(section: str, number: int) -> str:
    """The text of part `number` (from its heading to the next part's)."""
    return section.split(f"\n### {number}. ", 1)[1].split("\n### ", 1)[0]


def table(text: str, heading_cell: str) -> list[list[str]]:
    """Body rows of the first Markdown table whose header starts with `| heading_cell`."""
    lines = text[text.index(f"| {heading_cell}") :].splitlines()
    body = []
    for line in lines[2:]:  # after the header and the rule
        if not line.startswith("|"):
            break
        body.append([cell.strip() for cell in line.strip("|").split("|")])
    return body


def number(cell: str) -> float:
    return float(cell.replace(",", "").rstrip("x"))


@pytest.mark.slow
def test_dry_run_appends_a_section_with_every_part_and_the_fid_verdict(tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text(EARLIER)
    env = {"PYTHON": sys.executable, "GANLAB_GPU_STAGE": str(tmp_path / "none")}  # not staged
    done = run_script("--dry-run", "--results", str(results), env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    text = results.read_text()
    assert text.startswith(EARLIER + "\n## GPU check, dry run on CPU\n")  # appended after a blank line
    section = text[len(EARLIER) + 1 :].rstrip("\n")
    assert section in done.stdout  # and printed
    assert done.stdout.strip().splitlines()[-1].startswith("GPU check (dry run): PASS, ")
    for field in (
        "- date: ",
        "- device: CPU",
        "- commit: ",
        f"torch {torch.__version__}",
        "- result: **PASS**",
    ):
        assert field in section
    assert "skipped" not in section

    throughput = part(section, 1)
    assert "fp32 only: bf16 makes no sense on this CPU" in throughput
    for batch_size in (16, 32):
        rows = table(throughput.split(f"#### batch size {batch_size}", 1)[1], "loop")
        assert [r[0] for r in rows] == ["plain PyTorch loop (reference)", "ganlab default", "ganlab fast"]
        assert all(number(r[3]) > 0 for r in rows)

    dcgan = part(section, 2)
    (run,) = table(dcgan, "steps")
    assert run[0] == "640 of 640" and number(run[1]) > 0 and run[3] == "yes"
    start, end = table(dcgan, "checkpoint")
    assert start[:2] == ["start", "1"] and end[:2] == ["end", "640"]
    assert 0 < number(end[2]) < number(start[2])
    assert re.search(r"- FID: \*\*PASS\*\*: [\d.]+ at the end < [\d.]+ at the start", dcgan)
    assert "the same reference statistics for both" in dcgan

    runs = table(part(section, 3), "experiment")
    assert [r[0] for r in runs] == ["`+experiment=sngan_resnet`", "`+experiment=biggan`"]
    for _name, steps, images_per_sec, losses, finite, _seconds in runs:
        assert steps == "10 of 10" and number(images_per_sec) > 0 and finite == "yes"
        assert "loss/d=" in losses and "loss/g=" in losses

    plain, ganlab = table(part(section, 4), "pass")
    assert [plain[0], ganlab[0]] == ["plain", "ganlab"] and plain[1] == ganlab[1] == "16"
    assert number(plain[3]) > 0 and number(ganlab[3]) > 0


def test_without_a_gpu_it_is_one_line_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    results = tmp_path / "RESULTS.md"
    with pytest.raises(SystemExit) as exit_:
        gpu_check.main(["--results", str(results)])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"error: no CUDA GPU here (torch {torch.__version__} finds none): the GPU check needs one; "
        "on a CPU run it with --dry-run"
    ]
    assert not results.exists()


def test_a_failed_check_still_writes_its_section_marks_it_and_exits_1(tmp_path, monkeypatch, capsys):
    def fails(setup, part):
        return gpu_check.Outcome("the table", failures=["DCGAN run: non-finite"])

    def raises(setup, part):
        raise RuntimeError("CUDA error: out of memory")

    passes = lambda setup, part: gpu_check.Outcome("fine")  # noqa: E731
    runners = [("throughput", "A", passes), ("dcgan", "B", fails), ("architectures", "C", raises)]
    monkeypatch.setattr(gpu_check, "parts", lambda plan: runners)
    monkeypatch.setattr(gpu_check, "fid_weights", lambda args, scratch: (None, None))
    results = tmp_path / "RESULTS.md"
    assert gpu_check.main(["--dry-run", "--results", str(results)]) == gpu_check.FAILED_EXIT
    section = results.read_text()
    assert "- result: **FAIL**: DCGAN run: non-finite; part 3 raised RuntimeError: CUDA error" in section
    assert "### 1. A" in section and "### 2. B" in section and "### 3. C" in section
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("GPU check (dry run): FAIL, ")


def finished(tmp_path: Path, code: int | None, stderr: str) -> gpu_check.Finished:
    (tmp_path / "run.err").write_text(stderr)
    (tmp_path / "run.out").write_text("")
    return gpu_check.Finished(code, 12.0, tmp_path / "run.out", tmp_path / "run.err")


def test_a_training_run_counts_only_with_exit_0_and_finite_losses(tmp_path):
    finite = {"loss/d": 0.5, "loss/g": 2.0}
    assert gpu_check.TrainResult(finished(tmp_path, 0, ""), 10, finite).failure is None
    nan = gpu_check.TrainResult(finished(tmp_path, 3, "error: step 7: non-finite loss/d=nan"), 7, finite)
    assert nan.failure == (
        "non-finite: the run's NaN guard stopped it (exit 3): error: step 7: non-finite loss/d=nan"
    )
    assert "exit 2" in gpu_check.TrainResult(finished(tmp_path, 2, "error: bad"), 0).failure
    assert "time limit" in gpu_check.TrainResult(finished(tmp_path, None, ""), 5, finite).failure
    assert "no finite" in gpu_check.TrainResult(finished(tmp_path, 0, ""), 10, {"loss/d": 0.5}).failure


def fake_python(tmp_path: Path) -> Path:
    """A `python` that imports everything and prints the arguments it was started with."""
    path = tmp_path / "python"
    path.write_text('#!/bin/sh\nif [ "$1" = "-c" ]; then exit 0; fi\necho "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize(
    "staged,part1,part2,expected",
    [
        (False, None, b"half", ""),  # not staged: the project finds its weights itself
        (True, b"half", None, "--skip-fid only part 1 of the Inception weights is here"),
        (True, None, b"half", "holds no part 1 of the Inception weights"),
        (True, b"wrong ", b"bytes", "--skip-fid the joined Inception weights have sha256 "),
    ],
)
def test_the_script_joins_the_two_parts_of_the_weights_or_says_which_is_missing(
    tmp_path, staged, part1, part2, expected
):
    stage, payload = tmp_path / "stage", tmp_path / "payload"
    if staged:
        stage.mkdir()
    parts = {
        stage / "weights" / "default_1.pt.part1": part1,
        payload / "b" / "weights" / "default_1.pt.part2": part2,
    }
    for path, content in parts.items():
        if content is not None:
            path.parent.mkdir(parents=True)
            path.write_bytes(content)
    env = {
        "PYTHON": str(fake_python(tmp_path)),
        "GANLAB_GPU_STAGE": str(stage),
        "GANLAB_GPU_PAYLOAD": str(payload),
    }
    done = run_script("--dry-run", env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    started = done.stdout.strip()  # the fake python prints the command line it got
    assert started.startswith("benchmarks/gpu_check.py") and started.endswith("--dry-run")
    assert expected in started
    if not expected:
        assert started == "benchmarks/gpu_check.py --dry-run"
    if part1 and part2:
        assert (stage / "default_1.pt").read_bytes() == b"wrong bytes"  # joined in order
        assert "not 7ff4a85c3a63" in started  # the sha256 of src/metrics/network.py
