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


def write_16bit_png(path: Path, size: int = 8) -> None:
    """A 16-bit RGB PNG (what torchvision decodes as uint16), written byte by byte."""
    import struct
    import zlib

    row = b"\x00" + b"".join(struct.pack(">HHH", 65535, 32768 * (x % 2), 0) for x in range(size))
    ihdr = struct.pack(">IIBBBBB", size, size, 16, 2, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png)


def test_16_bit_grey_and_alpha_images_are_converted(tmp_path):
    from PIL import Image

    root = tmp_path / "images" / "mixed"
    root.mkdir(parents=True)
    write_16bit_png(root / "deep.png")
    Image.new("LA", (10, 10), (200, 255)).save(root / "grey_alpha.png")
    Image.new("RGBA", (10, 10), (10, 20, 30, 128)).save(root / "rgba.png")
    Image.new("CMYK", (10, 10), (0, 0, 0, 0)).save(root / "cmyk.jpg")
    for channels in (3, 1):
        dm = ImageFolderDataModule(
            path=str(tmp_path / "images"), batch_size=2, resolution=8, channels=channels
        )
        dm.setup("fit")
        assert tuple(dm.images.shape) == (4, channels, 8, 8) and dm.images.dtype == torch.uint8
    deep = ImageFolderDataModule(path=str(tmp_path / "images"), batch_size=2, resolution=8)
    deep.setup("fit")
    assert deep.images[1, 0].max() == 255 and deep.images[1, 1].unique().tolist() == [
        0,
        128,
    ]  # deep.png, scaled


def test_a_channel_count_images_cannot_have_names_the_key(tmp_path):
    with pytest.raises(
        DataError, match=r"data.channels=4 is not allowed for an image folder: use 3 \(RGB\) or 1"
    ):
        ImageFolderDataModule(path=str(tmp_path), channels=4)


def test_a_truncated_cache_is_rebuilt_with_one_line(tmp_path, caplog):
    root = tmp_path / "images"
    make_image_folder(root)
    ImageFolderDataModule(path=str(root), batch_size=2, resolution=32).setup("fit")
    (cache,) = root.glob(".ganlab-cache-32px-*.pt")
    whole = cache.read_bytes()
    cache.write_bytes(whole[:300])  # a kill or full disk while another tool copied it
    dm = ImageFolderDataModule(path=str(root), batch_size=2, resolution=32)
    dm.setup("fit")
    assert len(dm.images) == 6
    (line,) = [r.getMessage() for r in caplog.records if "cache" in r.getMessage()]
    assert str(cache) in line and line.endswith("rebuilding it")
    assert torch.load(cache, weights_only=True)["images"].shape == (6, 3, 32, 32)  # whole again
