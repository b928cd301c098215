"""Feature passes of the FID network over real images and over generator samples."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from src.metrics.network import FeatureNetwork
from src.utils.progress import ImageProgress
from src.utils.sampling import batch_ranges
from src.utils.signals import raise_if_pending

Sampler = Callable[[int, int], Tensor]  # (first sample index, count) -> images in [-1, 1]


def to_uint8(images: Tensor) -> Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255], as an image file would store it."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _collect(pairs: list[tuple[Tensor, Tensor | None]]) -> tuple[Tensor, Tensor | None]:
    pools = torch.cat([p for p, _ in pairs])
    logits = [lg for _, lg in pairs if lg is not None]
    return pools, (torch.cat(logits) if logits else None)


@torch.no_grad()
def image_features(
    network: FeatureNetwork, images: Tensor, batch_size: int, device: torch.device, progress: bool = True
) -> tuple[Tensor, Tensor | None]:
    """Features (and logits, if the network has them) of uint8 images [N, 3, H, W]."""
    outputs = []
    with ImageProgress(len(images), "FID features of real images", enabled=progress) as bar:
        for s in range(0, len(images), batch_size):
            raise_if_pending(f"during the feature pass over real images (at image {s})")
            batch = images[s : s + batch_size]
            outputs.append(network(batch.to(device)))
            bar.update(len(batch))
    return _collect(outputs)


@torch.no_grad()
def generator_features(
    network: FeatureNetwork,
    sample: Sampler,
    n: int,
    batch_size: int,
    start: int = 0,
    progress: bool = True,
) -> tuple[Tensor, Tensor | None]:
    """Features of generated samples start .. start + n - 1. The sampler draws each by its index (see
    src/utils/sampling.py), so the same model gives the same number at any batch size, and successive
    evaluations differ only by the model."""
    outputs = []
    with ImageProgress(n, "FID features of generated images", enabled=progress) as bar:
        for first, count in batch_ranges(n, batch_size, start):
            raise_if_pending(f"during the feature pass over generated images (at sample {first})")
            outputs.append(network(to_uint8(sample(first, count))))
            bar.update(count)
    return _collect(outputs)
