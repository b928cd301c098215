"""CIFAR-10 from the official pickle layout (src/data/cifar10.py): pixels, splits, checksums, download,
and the fixed training subset of data.fraction."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from src.core.errors import DataError
from src.data import CIFAR10DataModule
from src.data import cifar10 as cifar10_module
from src.data.cifar10 import FOLDER, SPLITS, write_split
from tests.helpers import write_cifar10


def first_batch(dm):
    images, labels = next(iter(dm.train_dataloader()))
    return dm.on_after_batch_transfer((images, labels), 0)


def test_the_layout_writer_spreads_a_split_over_its_official_files(tmp_path):
    images = np.arange(7 * 3 * 32 * 32, dtype=np.int64).astype(np.uint8).reshape(7, 3, 32, 32)
    folder = write_split(tmp_path, "train", images, np.arange(7) % 10)
    assert folder == tmp_path / FOLDER
    assert sorted(p.name for p in folder.iterdir()) == sorted(name for name, _ in SPLITS["train"])
    with open(folder / "data_batch_1", "rb") as f:
        entry = pickle.load(f, encoding="bytes")
    assert entry[b"data"].shape == (2, 3 * 32 * 32) and entry[b"labels"] == [0, 1]  # 7 over 5: 2,2,1,1,1
    loaded, labels, _ = cifar10_module.read_split(folder, "train")
    assert torch.equal(loaded, torch.from_numpy(images)) and labels.tolist() == list(range(7))


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

    def failing_download(url, folder, filename, **kwargs):  # as torchvision: the folder, a partial file
        calls.append(url)
        Path(folder).mkdir(parents=True)
        (Path(folder) / filename).write_bytes(b"partial")
        raise OSError("no network")

    monkeypatch.setattr(cifar10_module, "download_and_extract_archive", failing_download)
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")
    dm = CIFAR10DataModule(data_dir=str(tmp_path / "kept" / "new" / "data"), download=True)
    with pytest.raises(DataError) as err:
        dm.prepare_data()
    assert calls, "the official archive should have been tried"
    # the folders the attempt created are gone; the one that existed before stays with its file
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes.txt"]
    message = str(err.value)
    assert "cifar-10-batches-py" in message and "data_batch_1" in message and "\n" not in message


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


def test_a_data_dir_that_is_the_cifar_folder_itself_says_use_its_parent(tmp_path):
    write_cifar10(tmp_path)
    inner = tmp_path / "cifar-10-batches-py"
    with pytest.raises(DataError) as err:
        CIFAR10DataModule(data_dir=str(inner), download=True).prepare_data()  # no download attempted
    assert str(err.value) == (
        f"data.data_dir={str(inner)!r} is the cifar-10-batches-py folder itself: use its parent folder, "
        f"data.data_dir={str(tmp_path)!r}"
    )
