"""Users' own images: class sub-folders of PNG/JPEG files, decoded once and cached as a tensor.

Decoding and resizing thousands of files takes longer than a short training run, so the result is
cached beside the images as one uint8 tensor file, keyed by the resolution and the files' names,
sizes and modification times: adding, removing or editing an image rebuilds it.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import torch
from torch import Tensor
from torchvision.io import ImageReadMode, decode_image
from torchvision.transforms.v2.functional import resize, to_dtype

from src.core.errors import DataError, first_line
from src.core.files import DiskFullError, save_atomically
from src.data.base import TensorImageDataModule

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def list_images(root: Path) -> tuple[list[Path], list[int], list[str]]:
    """Image files under root/<class>/ (sorted), their class indices and the class names."""
    if not root.is_dir():
        raise DataError(
            f"data.path={str(root)!r} is not a folder: give a folder of class sub-folders of images"
        )
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files, labels = [], []
    for index, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [index] * len(found)
    if not files:
        raise DataError(
            f"data.path={str(root)!r} holds no images: expected <class>/<image> files ending in "
            f"{', '.join(IMAGE_SUFFIXES)}"
        )
    return files, labels, classes


def cache_key(files: list[Path], resolution: int, channels: int = 3) -> str:
    digest = hashlib.sha256(f"{resolution}|{channels}".encode())
    for f in files:
        stat = f.stat()
        digest.update(f"{f}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


READ_MODES = {3: ImageReadMode.RGB, 1: ImageReadMode.GRAY}  # any file's channels become these


def decode_resized(path: Path, resolution: int, channels: int = 3) -> Tensor:
    """One image as uint8 [channels, resolution, resolution]: grey, palette, RGBA, CMYK or 16-bit
    files are converted (16-bit scaled to 8)."""
    try:
        image = decode_image(str(path), mode=READ_MODES[channels])
    except Exception as exc:
        raise DataError(f"cannot decode image {path}: {exc}") from None
    if image.dtype != torch.uint8:
        image = to_dtype(image, torch.uint8, scale=True)
    if image.shape[1:] != (resolution, resolution):
        image = resize(image, [resolution, resolution], antialias=True)
    return image


class ImageFolderDataModule(TensorImageDataModule):
    """<path>/<class>/*.png|jpg, resized to `resolution`, served like CIFAR-10."""

    def __init__(self, path: str, cache: bool = True, split: str = "train", **kwargs):
        super().__init__(**kwargs)
        if self.channels not in READ_MODES:
            raise DataError(
                f"data.channels={self.channels} is not allowed for an image folder: use 3 (RGB) or 1 "
                "(grey); files of any other kind are converted to it"
            )
        if split != "train":
            raise DataError(f"data.split={split!r} is not available for an image folder: it has only train")
        self.path, self.cache, self.split = Path(path), cache, split

    def cache_file(self, key: str) -> Path:
        return self.path / f".ganlab-cache-{self.resolution}px-{key}.pt"

    def prepare_data(self) -> None:
        list_images(self.path)  # fail before training when the folder is missing or empty

    def load(self) -> tuple[Tensor, Tensor]:
        files, labels, _ = list_images(self.path)
        cache_file = self.cache_file(cache_key(files, self.resolution, self.channels))
        if self.cache and cache_file.is_file():
            try:
                cached = torch.load(cache_file, weights_only=True)
                return cached["images"], cached["labels"]
            except Exception as exc:  # truncated or damaged: decode the images again
                log.warning(
                    "the image cache %s cannot be read (%s): rebuilding it", cache_file, first_line(exc)
                )
        images = torch.stack([decode_resized(f, self.resolution, self.channels) for f in files])
        label_tensor = torch.tensor(labels, dtype=torch.long)
        if self.cache:
            self._write_cache(cache_file, images, label_tensor)
        return images, label_tensor

    def _write_cache(self, cache_file: Path, images: Tensor, labels: Tensor) -> None:
        """Write atomically and drop stale caches of the same resolution; a read-only folder only warns."""
        try:
            save_atomically({"images": images, "labels": labels}, cache_file)
            for old in self.path.glob(f".ganlab-cache-{self.resolution}px-*.pt"):
                if old != cache_file:
                    old.unlink()
        except (OSError, DiskFullError) as exc:
            log.warning("could not write the image cache %s (%s): decoding again next run", cache_file, exc)
