"""Feature passes of the FID network over real images and over generated samples.

Both check for a stop request between batches (src/core/signals.py), so a scheduler's SIGTERM during
a long pass is answered within one batch of images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import Tensor

from src.core.pixels import to_uint8
from src.core.signals import raise_if_pending
from src.metrics.network import FeatureNetwork
from src.metrics.progress import ImageProgress

Sampler = Callable[[int, int], Tensor]  # (first sample index, count) -> images in [-1, 1]


def batch_ranges(n: int, batch_size: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """(first index, count) of each batch covering samples start .. start + n - 1."""
    for offset in range(0, n, batch_size):
        yield start + offset, min(batch_size, n - offset)


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
        for first, count in batch_ranges(len(images), batch_size):
            raise_if_pending(f"during the feature pass over real images (at image {first})")
            outputs.append(network(images[first : first + count].to(device)))
            bar.update(count)
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
    src/generative/noise.py), so the same model gives the same number at any batch size, and successive
    evaluations differ only by the model."""
    outputs = []
    with ImageProgress(n, "FID features of generated images", enabled=progress) as bar:
        for first, count in batch_ranges(n, batch_size, start):
            raise_if_pending(f"during the feature pass over generated images (at sample {first})")
            outputs.append(network(to_uint8(sample(first, count))))
            bar.update(count)
    return _collect(outputs)
