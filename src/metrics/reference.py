"""Statistics of the real images, computed once per data set and protocol and cached on disk.

The key covers everything that changes the numbers: the images themselves (sha256 of the uint8
tensor), how many are used, the resize and the network weights. Change any of them and the cache
is rebuilt; keep them and every later run reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from src.core.files import save_atomically, write_atomically
from src.metrics.distances import mean_and_covariance
from src.metrics.features import image_features
from src.metrics.network import FeatureNetwork

REAL_FEATURES = 10_000  # real features kept beside mean and covariance, for KID and PRDC

log = logging.getLogger(__name__)


def data_checksum(images: Tensor) -> str:
    return hashlib.sha256(images.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


@dataclass
class ReferenceStats:
    """Mean and covariance (float64) of real features, the first of the features themselves (for KID and
    precision/recall/density/coverage: at most 10,000), and the protocol."""

    mu: Tensor
    sigma: Tensor
    kid_features: Tensor
    protocol: dict = field(default_factory=dict)
    from_cache: bool = False

    @classmethod
    def from_features(cls, features: Tensor, kid_max: int, protocol: dict) -> ReferenceStats:
        mu, sigma = mean_and_covariance(features)
        return cls(mu, sigma, features[:kid_max].float().cpu(), protocol)


def cache_key(protocol: dict) -> str:
    return hashlib.sha256(json.dumps(protocol, sort_keys=True).encode()).hexdigest()[:20]


def cached_at(
    network: FeatureNetwork, images: Tensor, dataset: str, cache_dir: str | Path
) -> tuple[dict, Path]:
    """The protocol of these reference statistics, and the file they are (or will be) cached in."""
    protocol = {
        "dataset": dataset,
        "n_real": len(images),
        "data_sha256": data_checksum(images),
        **network.describe(),
    }
    return protocol, Path(cache_dir) / "fid_stats" / f"{cache_key(protocol)}.pt"


def reference_stats(
    network: FeatureNetwork,
    images: Tensor,
    dataset: str,
    cache_dir: str | Path,
    batch_size: int,
    device: torch.device,
    kid_max: int = REAL_FEATURES,
    progress: bool = True,
) -> ReferenceStats:
    """Statistics of uint8 `images` under `network`, from the cache when it holds them."""
    protocol, path = cached_at(network, images, dataset, cache_dir)
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        return ReferenceStats(saved["mu"], saved["sigma"], saved["kid_features"], protocol, from_cache=True)
    log.info("computing reference statistics of %d images of %s (cached in %s)", len(images), dataset, path)
    features, _ = image_features(network, images, batch_size, device, progress=progress)
    stats = ReferenceStats.from_features(features, kid_max, protocol)
    save_atomically(
        {"mu": stats.mu.cpu(), "sigma": stats.sigma.cpu(), "kid_features": stats.kid_features}, path
    )
    write_atomically(json.dumps(protocol, indent=1), path.with_suffix(".json"))
    return stats
