"""Feature passes of the FID network over real images and over generator samples."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from src.metrics.network import FeatureNetwork

Sampler = Callable[[int, torch.Generator], Tensor]  # (count, rng) -> images in [-1, 1]


def to_uint8(images: Tensor) -> Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255], as an image file would store it."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def _collect(pairs: list[tuple[Tensor, Tensor | None]]) -> tuple[Tensor, Tensor | None]:
    pools = torch.cat([p for p, _ in pairs])
    logits = [lg for _, lg in pairs if lg is not None]
    return pools, (torch.cat(logits) if logits else None)


@torch.no_grad()
def image_features(
    network: FeatureNetwork, images: Tensor, batch_size: int, device: torch.device, progress: bool = False
) -> tuple[Tensor, Tensor | None]:
    """Features (and logits, if the network has them) of uint8 images [N, 3, H, W]."""
    starts = range(0, len(images), batch_size)
    return _collect(
        [
            network(images[s : s + batch_size].to(device))
            for s in tqdm(starts, desc="real images", disable=not progress)
        ]
    )


@torch.no_grad()
def generator_features(
    network: FeatureNetwork,
    sample: Sampler,
    n: int,
    batch_size: int,
    device: torch.device,
    seed: int = 0,
    progress: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Features of n generated images. Latent codes come from a generator seeded with `seed`, so two
    evaluations of the same model give the same number and successive ones differ only by the model."""
    rng = torch.Generator(device=device).manual_seed(seed)
    counts = [min(batch_size, n - s) for s in range(0, n, batch_size)]
    return _collect(
        [
            network(to_uint8(sample(c, rng)))
            for c in tqdm(counts, desc="generated images", disable=not progress)
        ]
    )
