"""What every in-memory data set shares (src/data/base.py): the [-1, 1] range and flip, the shuffled
and in-order batches, the stratified subset of data.fraction and the checks of the data.* arguments."""

from __future__ import annotations

import pytest
import torch

from src.core.errors import ConfigError, DataError
from src.core.pixels import to_model_range
from src.data import ShuffledBatches, SyntheticDataModule
from src.data.base import check_fraction, stratified_subset


def test_flip_mirrors_some_images_and_only_mirrors():
    images = torch.arange(32, dtype=torch.uint8).repeat(64, 3, 32, 1)  # left-right asymmetric
    plain = to_model_range(images, hflip=False)
    flipped = to_model_range(images, hflip=True)
    same = (flipped == plain).flatten(1).all(1)
    mirrored = (flipped == plain.flip(3)).flatten(1).all(1)
    assert torch.all(same | mirrored)
    assert same.any() and mirrored.any()
    assert torch.equal(to_model_range(images, hflip=False), plain)


def test_batches_shard_across_ranks_and_reshuffle_per_epoch():
    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1)
    labels = torch.arange(40)
    ranks = [ShuffledBatches(images, labels, 5, seed=3, rank=r, world_size=2) for r in (0, 1)]
    seen = [torch.cat([y for _, y in loader]) for loader in ranks]
    assert len(ranks[0]) == 4
    assert set(seen[0].tolist()).isdisjoint(seen[1].tolist())
    assert sorted(torch.cat(seen).tolist()) == list(range(40))
    ranks[0].sampler.set_epoch(1)  # as Lightning tells a loader's sampler the epoch
    assert not torch.equal(torch.cat([y for _, y in ranks[0]]), seen[0])


def test_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(DataError, match="data.batch_size=64"):
        ShuffledBatches(torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.zeros(10), 64)


def test_test_batches_cover_every_image_once_in_order():
    dm = SyntheticDataModule(num_images=21, batch_size=8)
    dm.setup("test")
    batches = list(dm.test_dataloader())
    assert len(dm.test_dataloader()) == 3 and [len(x) for x, _ in batches] == [8, 8, 5]
    assert torch.equal(torch.cat([x for x, _ in batches]), dm.images)
    assert torch.equal(torch.cat([y for _, y in batches]), dm.labels)


def test_subset_keeps_the_share_of_every_class():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    keep = stratified_subset(labels, 0.1, seed=0)
    assert torch.bincount(labels[keep]).tolist() == [5, 3, 2]
    assert torch.equal(keep, keep.sort().values) and len(keep.unique()) == len(keep)
    assert torch.equal(keep, stratified_subset(labels, 0.1, seed=0))  # fixed by its seed
    assert not torch.equal(keep, stratified_subset(labels, 0.1, seed=1))
    assert torch.bincount(labels[stratified_subset(labels, 0.01, seed=0)]).tolist() == [1, 1, 1]


@pytest.mark.parametrize("fraction", [0, -0.5, 1.01, "half"])
def test_bad_fraction_is_one_line(fraction):
    for check in (check_fraction, lambda f: SyntheticDataModule(fraction=f)):
        with pytest.raises(ConfigError) as err:
            check(fraction)
        message = str(err.value)
        assert message.startswith(f"data.fraction={fraction!r} is not allowed: use a number in (0, 1]")
        assert "\n" not in message
    assert check_fraction(1) == 1.0


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"batch_size": 0}, "data.batch_size=0 is not allowed: use a whole number > 0"),
        ({"resolution": 32.0}, "data.resolution=32.0 is not allowed: use a whole number > 0"),
        ({"channels": -3}, "data.channels=-3 is not allowed: use a whole number > 0"),
        ({"hflip": "yes"}, "data.hflip='yes' is not allowed: use true or false"),
        ({"on_device": 1}, "data.on_device=1 is not allowed: use true or false"),
    ],
)
def test_bad_arguments_are_one_line_when_the_data_module_is_built(kwargs, named):
    with pytest.raises(ConfigError) as err:
        SyntheticDataModule(**kwargs)
    assert str(err.value) == named


def test_a_resumed_epoch_goes_on_with_the_next_batch_of_the_same_order():
    images = torch.arange(40, dtype=torch.uint8).view(40, 1, 1, 1)
    loader = ShuffledBatches(images, torch.arange(40), 5, seed=3)
    loader.set_epoch(2)
    whole_epoch = [y for _, y in loader]
    for _ in range(3):  # training consumed three batches of epoch 2, then a checkpoint was written
        loader.consumed()
    resumed = ShuffledBatches(images, torch.arange(40), 5, seed=3)
    resumed.load_state_dict(loader.state_dict())
    resumed.set_epoch(2)
    assert [y.tolist() for _, y in resumed] == [y.tolist() for y in whole_epoch[3:]]
    assert len([y for _, y in resumed]) == 8  # the skip applies once: the next pass is the whole epoch
    resumed.set_epoch(3)
    assert resumed.state_dict() == {"epoch": 3, "batches_done": 0}
