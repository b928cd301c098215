"""The generated coloured squares (src/data/synthetic.py): deterministic, one colour per class."""

from __future__ import annotations

import numpy as np
import torch

from src.data import SyntheticDataModule


def test_synthetic_data_is_deterministic():
    a, b = SyntheticDataModule(num_images=16, seed=1), SyntheticDataModule(num_images=16, seed=1)
    a.setup(), b.setup()
    assert torch.equal(a.images, b.images) and a.images.dtype == torch.uint8
    assert np.unique(a.images.numpy()).size > 10


def test_synthetic_classes_keep_their_colour_across_seeds():
    a, b = SyntheticDataModule(num_images=64, seed=1), SyntheticDataModule(num_images=64, seed=2)
    a.setup(), b.setup()
    assert not torch.equal(a.images, b.images)

    def square_colour(dm, label):  # the most common pixel colour of that class's images is the square's
        pixels = dm.images[dm.labels == label].permute(0, 2, 3, 1).reshape(-1, 3)
        values, counts = pixels.unique(dim=0, return_counts=True)
        return values[counts.argmax()].tolist()

    shared = set(a.labels.tolist()) & set(b.labels.tolist())
    assert shared and all(square_colour(a, c) == square_colour(b, c) for c in shared)
