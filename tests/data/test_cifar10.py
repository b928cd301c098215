from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.io import write_jpeg, write_png

from src.data import CIFAR10DataModule, ImageFolderDataModule, ShuffledBatches, SyntheticDataModule
from src.data import cifar10 as cifar10_module
from src.data import image_folder as image_folder_module
from src.data.base import to_model_range
from src.utils.errors import DataError
from tests.helpers import write_cifar10


def first_batch(dm):
    images, labels = next(iter(dm.train_dataloader()))
    return dm.on_after_batch_transfer((images, labels), 0)


def test_cifar10_layout_dtype_and_pixels(tmp_path):
    images, labels = write_cifar10(tmp_path, per_batch=20)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), download=False, batch_size=8)
    dm.setup("fit")
    assert dm.images.dtype == torch.uint8
    assert tuple(dm.images.shape) == (100, 3, 32, 32)
    assert torch.equal(dm.images, torch.from_numpy(images))  # channel-major rows read in file order
    assert torch.equal(dm.labels, torch.from_numpy(labels).long())
    x, y = first_batch(dm)
    assert x.dtype == torch.float32 and tuple(x.shape) == (8, 3, 32, 32)
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.min() < -0.9 and x.max() > 0.9  # the full [0, 255] range maps to the full [-1, 1]
    assert len(dm.train_dataloader()) == 100 // 8


def test_cifar10_test_split_and_resize(tmp_path):
    write_cifar10(tmp_path, per_batch=12)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), split="test", download=False, batch_size=4, resolution=64)
    dm.setup("fit")
    assert tuple(dm.images.shape) == (12, 3, 64, 64) and dm.images.dtype == torch.uint8


def test_md5_mismatch_is_one_warning(tmp_path, caplog):
    write_cifar10(tmp_path)
    dm = CIFAR10DataModule(data_dir=str(tmp_path), download=False)
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    warnings = [r for r in caplog.records if "differ from the official release" in r.getMessage()]
    assert len(warnings) == 1
    assert "\n" not in warnings[0].getMessage()
    assert "data_batch_1" in warnings[0].getMessage()


def test_corrupt_file_names_the_file(tmp_path):
    write_cifar10(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    bad.write_bytes(b"this is not a pickle")
    dm = CIFAR10DataModule(data_dir=str(tmp_path), download=False)
    with pytest.raises(DataError, match="data_batch_3"):
        dm.setup("fit")


def test_missing_data_tries_download_then_one_clear_error(tmp_path, monkeypatch):
    calls = []

    def failing_download(*args, **kwargs):
        calls.append(args)
        raise OSError("no network")

    monkeypatch.setattr(cifar10_module, "download_and_extract_archive", failing_download)
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "nowhere"), download=True)
    with pytest.raises(DataError) as err:
        dm.prepare_data()
    assert calls, "the official archive should have been tried"
    message = str(err.value)
    assert "cifar-10-batches-py" in message and "data_batch_1" in message and "\n" not in message


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
    epoch = {"n": 0}
    ranks = [
        ShuffledBatches(images, labels, 5, seed=3, rank=r, world_size=2, epoch_fn=lambda: epoch["n"])
        for r in (0, 1)
    ]
    seen = [torch.cat([y for _, y in loader]) for loader in ranks]
    assert len(ranks[0]) == 4
    assert set(seen[0].tolist()).isdisjoint(seen[1].tolist())
    assert sorted(torch.cat(seen).tolist()) == list(range(40))
    epoch["n"] = 1
    assert not torch.equal(torch.cat([y for _, y in ranks[0]]), seen[0])


def test_batch_larger_than_data_is_a_clear_error():
    with pytest.raises(DataError, match="data.batch_size=64"):
        ShuffledBatches(torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.zeros(10), 64)


def make_image_folder(root: Path) -> None:
    for c, name in enumerate(["cats", "dogs"]):
        (root / name).mkdir(parents=True)
        for i in range(3):
            image = torch.full(
                (
                    3,
                    40 + 8 * i,
                    48,
                ),
                60 * c + 10 * i,
                dtype=torch.uint8,
            )
            if i % 2:
                write_png(image, str(root / name / f"{i}.png"))
            else:
                write_jpeg(image, str(root / name / f"{i}.jpg"))


def test_image_folder_resizes_caches_and_invalidates(tmp_path, monkeypatch):
    root = tmp_path / "images"
    make_image_folder(root)
    dm = ImageFolderDataModule(path=str(root), batch_size=2, resolution=32)
    dm.setup("fit")
    assert tuple(dm.images.shape) == (6, 3, 32, 32) and dm.images.dtype == torch.uint8
    assert dm.labels.tolist() == [0, 0, 0, 1, 1, 1]
    caches = list(root.glob(".ganlab-cache-32px-*.pt"))
    assert len(caches) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded although the cache is valid")

    monkeypatch.setattr(image_folder_module, "decode_resized", no_decoding)
    again = ImageFolderDataModule(path=str(root), batch_size=2, resolution=32)
    again.setup("fit")
    assert torch.equal(again.images, dm.images)

    monkeypatch.undo()
    write_png(torch.zeros(3, 32, 32, dtype=torch.uint8), str(root / "dogs" / "new.png"))
    changed = ImageFolderDataModule(path=str(root), batch_size=2, resolution=32)
    changed.setup("fit")
    assert len(changed.images) == 7
    assert len(list(root.glob(".ganlab-cache-32px-*.pt"))) == 1  # the stale cache was replaced


def test_empty_image_folder_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    dm = ImageFolderDataModule(path=str(tmp_path / "empty"))
    with pytest.raises(DataError, match="holds no images"):
        dm.prepare_data()


def test_synthetic_data_is_deterministic():
    a, b = SyntheticDataModule(num_images=16, seed=1), SyntheticDataModule(num_images=16, seed=1)
    a.setup(), b.setup()
    assert torch.equal(a.images, b.images) and a.images.dtype == torch.uint8
    assert np.unique(a.images.numpy()).size > 10
