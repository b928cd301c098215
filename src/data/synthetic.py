"""A tiny generated data set (coloured squares on gradients) for smoke runs and tests: no download."""

from __future__ import annotations

import torch
from torch import Tensor

from src.core.errors import DataError
from src.data.base import TensorImageDataModule

PALETTE_SEED = 0  # class colours are the same for every seed, so another seed is a held-out set


def make_shapes(n: int, resolution: int, num_classes: int, seed: int) -> tuple[Tensor, Tensor]:
    """n uint8 images: a vertical gradient background with one square whose colour is the class."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    ramp = torch.linspace(0, 1, resolution).view(1, 1, resolution, 1)
    background = torch.rand(n, 3, 1, 1, generator=g) * ramp
    palette = torch.rand(num_classes, 3, generator=torch.Generator().manual_seed(PALETTE_SEED))
    images = background.expand(n, 3, resolution, resolution).clone()
    size = resolution // 3
    corners = torch.randint(0, resolution - size, (n, 2), generator=g)
    for i in range(n):
        y, x = corners[i].tolist()
        images[i, :, y : y + size, x : x + size] = palette[labels[i]].view(3, 1, 1)
    return (images * 255).round().to(torch.uint8), labels


SPLIT_SEED_OFFSET = {"train": 0, "test": 1}  # the test split is drawn with another seed


class SyntheticDataModule(TensorImageDataModule):
    def __init__(self, num_images: int = 256, num_classes: int = 10, split: str = "train", **kwargs):
        super().__init__(**kwargs)
        if split not in SPLIT_SEED_OFFSET:
            raise DataError(f"data.split={split!r} is unknown: use train or test")
        self.num_images, self.synthetic_classes, self.split = num_images, num_classes, split

    def load(self) -> tuple[Tensor, Tensor]:
        seed = self.seed + SPLIT_SEED_OFFSET[self.split]
        return make_shapes(self.num_images, self.resolution, self.synthetic_classes, seed)
