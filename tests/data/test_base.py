"""data.fraction: a fixed, class-stratified subset chosen at load; and the in-order test batches."""

from __future__ import annotations

import pytest
import torch

from src.data import CIFAR10DataModule, SyntheticDataModule
from src.data.base import stratified_subset
from src.utils.errors import ConfigError
from tests.helpers import write_cifar10


def test_subset_keeps_the_share_of_every_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    keep = stratified_subset(labels, 0.1, seed=0)
    assert torch.bincount(labels[keep]).tolist() == [5, 3, 2]
    assert torch.equal(keep, keep.sort().values) and len(keep.unique()) == len(keep)
    assert torch.equal(keep, stratified_subset(labels, 0.1, seed=0))  # fixed by its seed
    assert not torch.equal(keep, stratified_subset(labels, 0.1, seed=1))
    assert torch.bincount(labels[stratified_subset(labels, 0.01, seed=0)]).tolist() == [1, 1, 1]


def test_cifar10_fraction_is_a_fixed_subset_whatever_the_training_seed(tmp_path):
    images, labels = write_cifar10(tmp_path, per_batch=40)
    subsets = []
    for seed in (1, 2):
        dm = CIFAR10DataModule(data_dir=str(tmp_path), download=False, batch_size=4, fraction=0.2, seed=seed)
        dm.setup("fit")
        subsets.append(dm.images)
    assert torch.equal(subsets[0], subsets[1])
    counts = torch.bincount(torch.from_numpy(labels), minlength=10)
    assert len(subsets[0]) == sum(round(0.2 * int(c)) for c in counts if c > 0)
    full = torch.from_numpy(images)
    assert all((full == img).flatten(1).all(1).any() for img in subsets[0])  # real images, not copies


@pytest.mark.parametrize("fraction", [0, -0.5, 1.01, "half"])
def test_bad_fraction_is_one_line(fraction):
    with pytest.raises(ConfigError) as err:
        SyntheticDataModule(fraction=fraction)
    assert str(err.value).startswith(f"data.fraction={fraction!r} is not allowed: use a number in (0, 1]")


def test_test_batches_cover_every_image_once_in_order():
    dm = SyntheticDataModule(num_images=21, batch_size=8)
    dm.setup("test")
    batches = list(dm.test_dataloader())
    assert len(dm.test_dataloader()) == 3 and [len(x) for x, _ in batches] == [8, 8, 5]
    assert torch.equal(torch.cat([x for x, _ in batches]), dm.images)
    assert torch.equal(torch.cat([y for _, y in batches]), dm.labels)


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
