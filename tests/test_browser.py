"""End to end in a real browser: a 2-job sweep, TensorBoard serving it on 127.0.0.1, and headless
Chromium loading the page. TensorBoard's HTTP data API (what its front end reads) must show each job's
loss curves, sample images and HPARAMS with the swept key; the screenshots of the scalars, images and
hparams dashboards are kept in the test's temp folder (pytest keeps the last 3 sessions'; run
`pytest -m slow tests/test_browser.py -s` to have their paths printed).

Skipped where no Chromium is installed (Debian: `apt-get install chromium`; `.ci/run` does it).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import PROJECT_ROOT, run_module

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p is not None), None
)
SWEPT = "model.latent_dim"
VALUES = (8, 16)
WINDOW = (1600, 1200)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (Debian: apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TensorBoard:
    """`python -m tensorboard.main` on 127.0.0.1, read through its HTTP data API. It reads the event
    files once, before it serves (`--reload_task blocking`): the first answer already has every run."""

    def __init__(self, logdir: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
            + ["--host", "127.0.0.1", "--port", str(self.port)]
            + ["--reload_interval", "0", "--reload_task", "blocking"],
            cwd=PROJECT_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"TensorBoard exited {self.proc.returncode}: see {self.log.name}"
            try:
                self.get("/data/runs")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        raise AssertionError(f"TensorBoard did not answer within {timeout}s: see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def get(self, path: str, **params: str) -> bytes:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=30) as response:
            return response.read()

    def get_json(self, path: str, **params: str):
        return json.loads(self.get(path, **params))

    def post_json(self, path: str, body: dict):
        """POST a JSON request (the hparams routes read the body only when it is sent as JSON)."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def screenshot(url: str, path: Path, budget_ms: int = 15000) -> Path:
    """Headless Chromium's screenshot of `url` after `budget_ms` of virtual time (the page's fetches
    and renders run in it)."""
    size = ",".join(map(str, WINDOW))
    args = [
        CHROMIUM,
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={path.parent / 'chromium-profile'}",
        f"--window-size={size}",
        f"--virtual-time-budget={budget_ms}",
        f"--screenshot={path}",
        url,
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and path.exists(), f"chromium exited {result.returncode}: {result.stderr}"
    return path


def dump_dom(url: str, profile: Path, budget_ms: int = 15000) -> str:
    args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    args += [f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}", "--dump-dom", url]
    result = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, f"chromium exited {result.returncode}: {result.stderr}"
    return result.stdout


def check_picture(path: Path) -> Image.Image:
    """A PNG of the window's size with a drawn page on it (not one flat colour)."""
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path} is not a PNG"
    image = Image.open(path).convert("RGB")
    assert image.size == WINDOW
    colours = image.getcolors(maxcolors=WINDOW[0] * WINDOW[1])
    assert len(colours) > 50, f"{path}: only {len(colours)} colours, a blank page?"
    return image


@dataclass(frozen=True)
class ServedSweep:
    """A finished 2-job sweep (model.latent_dim=8,16 of the smoke experiment) and TensorBoard serving it."""

    root: Path
    jobs: list[str]
    tb: TensorBoard


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedSweep]:
    root = tmp_path_factory.mktemp("browser")
    sweep_dir = root / "sweep"
    result = run_module(
        "src.train",
        "-m",
        "+experiment=smoke",
        "trainer.max_epochs=1",
        "trainer.enable_progress_bar=false",
        f"{SWEPT}={','.join(map(str, VALUES))}",
        f"hydra.sweep.dir={sweep_dir}",
        f"paths.log_dir={root / 'outputs'}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    assert len(jobs) == 2, jobs
    tb = TensorBoard(sweep_dir, root / "tensorboard.log")
    try:
        tb.wait_ready()
        yield ServedSweep(root, jobs, tb)
    finally:
        tb.stop()


def hparams_experiment(tb: TensorBoard) -> list[str]:
    """The HPARAMS columns, in the order the front end receives them."""
    experiment = tb.post_json("/data/plugin/hparams/experiment", {"experimentName": ""})
    return [info["name"] for info in experiment["hparamInfos"]]


def test_data_api_lists_both_jobs_with_loss_curves_and_sample_images(served):
    tb, jobs = served.tb, served.jobs
    assert sorted(tb.get_json("/data/runs")) == jobs
    plugins = tb.get_json("/data/plugins_listing")
    for plugin in ("scalars", "images", "hparams"):
        assert plugins.get(plugin, {}).get("enabled"), f"{plugin} not active: {plugins.get(plugin)}"

    scalar_tags = tb.get_json("/data/plugin/scalars/tags")
    image_tags = tb.get_json("/data/plugin/images/tags")
    for job in jobs:
        assert {"loss/d", "loss/g"} <= set(scalar_tags[job]), scalar_tags.get(job)
        for tag in ("loss/d", "loss/g"):
            points = tb.get_json("/data/plugin/scalars/scalars", run=job, tag=tag)
            assert len(points) >= 1 and all(len(p) == 3 for p in points), points  # [wall time, step, y]
        assert "samples" in image_tags[job], image_tags.get(job)
        images = tb.get_json("/data/plugin/images/images", run=job, tag="samples", sample="0")
        assert images, f"no samples image in {job}"
        png = tb.get(f"/data/plugin/images/individualImage?{images[-1]['query']}")
        assert png[:8] == PNG_MAGIC
        assert Image.open(BytesIO(png)).size[0] >= 32


def test_hparams_api_has_the_swept_key_with_each_jobs_value(served):
    names = hparams_experiment(served.tb)
    assert SWEPT in names, f"{SWEPT} is not among the HPARAMS columns: {names}"
    groups = served.tb.post_json(
        "/data/plugin/hparams/session_groups",
        {
            "experimentName": "",
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
            "colParams": [],
            "startIndex": 0,
            "sliceSize": 100,
        },
    )["sessionGroups"]
    assert sorted(g["name"] for g in groups) == served.jobs
    assert sorted(g["hparams"][SWEPT] for g in groups) == list(VALUES)
    assert all("loss/d" in str(g["metricValues"]) for g in groups)  # the metric columns filled in


def test_headless_chromium_renders_the_loss_charts_samples_and_hparams(served):
    """Screenshots of the three dashboards (kept in the test's temp folder) and the page's app element."""
    tabs = {"scalars": "#scalars&tagFilter=loss", "images": "#images", "hparams": "#hparams"}
    for tab, fragment in tabs.items():
        path = screenshot(served.tb.url + "/" + fragment, served.root / f"tensorboard_{tab}.png")
        check_picture(path)
        print(f"\nscreenshot: {path}")
    dom = dump_dom(f"{served.tb.url}/#scalars", served.root / "chromium-profile-dom")
    # the dashboards draw inside shadow roots, which --dump-dom leaves out: the app element is what shows
    assert "<tb-webapp" in dom, dom[:2000]


def test_the_swept_key_is_among_the_columns_the_hparams_table_shows(served):
    # TensorBoard 2.21's back end sorts the columns by (not differs, name) (backend_context.py:
    # _sort_and_reduce_to_hparams_limit); its front end (_computeHParams) displays the first 5. Without
    # an experiment summary TensorBoard builds the experiment from the runs and sets `differs` itself.
    names = hparams_experiment(served.tb)
    assert SWEPT in names[:5], f"{SWEPT} is column {names.index(SWEPT) + 1}; shown: {names[:5]}"
