"""Speed of the FID feature pass: uint8 images -> TF1 resize to 299 -> Inception pool3 features.

This pass dominates every FID evaluation (50,000 generated images per published number), so it is
timed beside training. The weights are resolved as training resolves them, without downloading.
"""

from __future__ import annotations

import time

import torch

from src.core.device import sync_device
from src.metrics.features import image_features
from src.metrics.network import MissingWeightsError, load_feature_network

FID_BATCH = 250  # the batch size of callbacks.fid and src.evaluate
SEED = 0


def measure_fid_pass(device: torch.device, n_images: int, weights_path: str | None = None) -> str:
    """A Markdown table with the images/s of the feature pass, or a line saying why it was not run.

    `weights_path`: a file to use, as `metrics.weights_path` (None: wherever training would find them)."""
    try:
        network = load_feature_network(weights_path, allow_download=False).to(device).eval()
    except MissingWeightsError as err:
        return f"FID feature pass: not measured ({err})"
    g = torch.Generator().manual_seed(SEED)
    images = torch.randint(0, 256, (n_images, 3, 32, 32), dtype=torch.uint8, generator=g)
    batch = min(FID_BATCH, n_images)
    image_features(network, images[:batch], batch, device)  # warm-up: kernels, allocator
    sync_device(device)
    start = time.perf_counter()
    features, _ = image_features(network, images, batch, device)
    sync_device(device)
    seconds = time.perf_counter() - start
    rate = n_images / seconds
    return "\n".join(
        [
            f"FID feature pass ({network.name}, weights {network.weights_id[:19]}..., TF1 resize to 299, "
            f"batch {batch}):",
            "",
            "| images | seconds | images/s | 50,000 images would take |",
            "|---:|---:|---:|---:|",
            f"| {n_images:,} | {seconds:.1f} | {rate:,.1f} | {50_000 / rate / 60:,.1f} min |",
        ]
    )
