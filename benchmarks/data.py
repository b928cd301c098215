"""The benchmark's data: CIFAR-10 in the official pickle layout, or a generated stand-in in that layout.

Every row reads the same files (the plain loop through its own Dataset, ganlab through its
DataModule), so they are timed on the same data. Without CIFAR-10 the stand-in has as many images
as CIFAR-10's training split, so epochs are as long; --tiny writes a few hundred.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
from torchvision.datasets import CIFAR10

from src.data.cifar10 import SPLITS

FOLDER = CIFAR10.base_folder  # "cifar-10-batches-py"
TRAIN_FILES = [name for name, _ in CIFAR10.train_list]
SIDE, CHANNELS, CLASSES = 32, 3, 10
SYNTHETIC_IMAGES = 50_000  # CIFAR-10's training split
TINY_IMAGES = 320  # --tiny: 64 per file
SYNTHETIC_SEED = 0


def write_pickle_layout(data_dir: Path, split: str, images: np.ndarray, labels: np.ndarray) -> Path:
    """uint8 images [N, 3, 32, 32] and labels -> data_dir/cifar-10-batches-py/<the split's files>.

    The official layout (a dict of b"data" rows and b"labels" per file, the images spread evenly over
    the split's files); for the benchmark and the tests, which need CIFAR-10-shaped files without the
    data set. src/data/cifar10.py reads it.
    """
    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name, _ in SPLITS[split]]
    for name, part, y in zip(names, np.array_split(images, len(names)), np.array_split(labels, len(names))):
        entry = {b"data": part.reshape(len(part), -1), b"labels": y.tolist(), b"batch_label": name.encode()}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


def has_cifar10(data_dir: Path) -> bool:
    return all((data_dir / FOLDER / name).is_file() for name in TRAIN_FILES)


def synthetic_cifar10(data_dir: Path, num_images: int) -> None:
    """Random pixels and labels in the official layout: throughput does not depend on what the images show."""
    rng = np.random.default_rng(SYNTHETIC_SEED)
    images = rng.integers(0, 256, size=(num_images, CHANNELS, SIDE, SIDE), dtype=np.uint8)
    write_pickle_layout(data_dir, "train", images, rng.integers(0, CLASSES, size=num_images))


def count_images(data_dir: Path) -> int:
    total = 0
    for name in TRAIN_FILES:
        with open(data_dir / FOLDER / name, "rb") as f:
            total += len(pickle.load(f, encoding="bytes")[b"data"])
    return total


def prepare(data_dir: Path, scratch: Path, tiny: bool) -> tuple[Path, str, int]:
    """The folder every row reads (it contains cifar-10-batches-py/), a line saying what it holds,
    and its number of training images."""
    if not tiny and has_cifar10(data_dir):
        num_images = count_images(data_dir)
        return data_dir, f"CIFAR-10 training split from {data_dir / FOLDER} ({num_images} images)", num_images
    num_images = TINY_IMAGES if tiny else SYNTHETIC_IMAGES
    synthetic_cifar10(scratch, num_images)
    why = "--tiny" if tiny else f"no CIFAR-10 in {data_dir / FOLDER}"
    line = f"synthetic: {num_images} random 32x32 images in the CIFAR-10 pickle layout ({why})"
    return scratch, line, num_images
