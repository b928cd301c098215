"""Image folders (src/data/image_folder.py): one class per sub-folder, resized once and cached."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.io import write_jpeg, write_png

from src.core.errors import DataError
from src.data import ImageFolderDataModule
from src.data import image_folder as image_folder_module


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
