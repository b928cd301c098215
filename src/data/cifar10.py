"""CIFAR-10 from the official python-pickle layout, read straight into one uint8 tensor.

torchvision's CIFAR10 dataset refuses files whose md5 differs (e.g. a re-encoded copy) and serves
PIL images one at a time; here the pickles are read once, a checksum mismatch is only a warning,
and the whole split becomes one tensor for TensorImageDataModule to serve.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import download_and_extract_archive

from src.core.errors import DataError
from src.data.base import TensorImageDataModule

log = logging.getLogger(__name__)

FOLDER = CIFAR10.base_folder  # "cifar-10-batches-py"
SPLITS = {"train": CIFAR10.train_list, "test": CIFAR10.test_list}
RESOLUTION = 32
WARNED: set[Path] = set()  # folders whose md5 mismatch this process has said already


def read_batch(path: Path) -> tuple[np.ndarray, list[int]]:
    """One pickle file -> (uint8 [n, 3, 32, 32], labels); a clear error if it can't be read."""
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="bytes")
        data = np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, 3, RESOLUTION, RESOLUTION)
        labels = entry.get(b"labels", entry.get(b"fine_labels"))
        if labels is None or len(labels) != len(data):
            raise ValueError("labels missing or of the wrong length")
    except Exception as exc:  # any unpickling or shape problem is the same user-facing error
        raise DataError(f"cannot read CIFAR-10 file {path}: {type(exc).__name__}: {exc}") from None
    return data, list(labels)


def read_split(root: Path, split: str) -> tuple[Tensor, Tensor, list[str]]:
    """All batches of a split -> (images, labels, names of files whose md5 is not the official one)."""
    images, labels, mismatched = [], [], []
    for name, official_md5 in SPLITS[split]:
        path = root / name
        data, y = read_batch(path)
        if hashlib.md5(path.read_bytes()).hexdigest() != official_md5:
            mismatched.append(name)
        images.append(data)
        labels.extend(y)
    return torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long), mismatched


def write_split(root: Path, split: str, images: np.ndarray, labels: np.ndarray) -> Path:
    """uint8 images [N, 3, 32, 32] and labels -> root/cifar-10-batches-py/<the split's files>, spread
    evenly over them: CIFAR-10-shaped files without the data set (tests, the benchmark's stand-in)."""
    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    names = [name for name, _ in SPLITS[split]]
    for name, part, y in zip(names, np.array_split(images, len(names)), np.array_split(labels, len(names))):
        entry = {b"data": part.reshape(len(part), -1), b"labels": y.tolist(), b"batch_label": name.encode()}
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=pickle.HIGHEST_PROTOCOL)
    return folder


def remove_partial_download(archive: Path, created: list[Path]) -> None:
    """After a failed download: the partial archive, then the folders the attempt created, if empty
    (a failed first run must not leave an empty data/ behind; a folder that held anything is kept)."""
    archive.unlink(missing_ok=True)
    for folder in created:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            break


def missing_files(root: Path, split: str) -> list[str]:
    return [name for name, _ in SPLITS[split] if not (root / name).is_file()]


class CIFAR10DataModule(TensorImageDataModule):
    """CIFAR-10 train (or test) split in memory; downloads the official archive when it is missing.

    Another `resolution` than 32 resizes the whole set once when it is loaded (e.g. 64 px for the
    deeper DCGAN)."""

    def __init__(self, data_dir: str = "data", split: str = "train", download: bool = True, **kwargs):
        kwargs.setdefault("resolution", RESOLUTION)
        super().__init__(**kwargs)
        if split not in SPLITS:
            raise DataError(f"data.split={split!r} is unknown: use train or test")
        self.data_dir, self.split, self.download = Path(data_dir), split, download
        self.official_files = None  # known after load(): whether the md5 sums match the release

    @property
    def root(self) -> Path:
        return self.data_dir / FOLDER

    def prepare_data(self) -> None:
        """Download once (rank 0 only, as Lightning calls it) when the official files are absent."""
        if not missing_files(self.root, self.split):
            return
        if self.data_dir.name == FOLDER and not missing_files(self.data_dir, self.split):
            raise DataError(
                f"data.data_dir={str(self.data_dir)!r} is the {FOLDER} folder itself: use its parent folder, "
                f"data.data_dir={str(self.data_dir.parent)!r}"
            )
        if self.download:
            created = [p for p in (self.data_dir, *self.data_dir.parents) if not p.exists()]
            try:
                download_and_extract_archive(
                    CIFAR10.url, str(self.data_dir), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
                )
            except Exception as exc:
                log.warning("CIFAR-10 download failed: %s", exc)
                remove_partial_download(self.data_dir / CIFAR10.filename, created)
        self._require_files()

    def _require_files(self) -> None:
        missing = missing_files(self.root, self.split)
        if missing:
            how = "and it could not be downloaded" if self.download else "(data.download=false)"
            raise DataError(
                f"CIFAR-10 not found in {self.root} (expected {', '.join(missing)}) {how}: put the "
                "official cifar-10-batches-py folder there or set data.data_dir"
            )

    def load(self) -> tuple[Tensor, Tensor]:
        self._require_files()
        images, labels, mismatched = read_split(self.root, self.split)
        self.official_files = not mismatched
        if mismatched and self.root not in WARNED:  # once per process, not once per sweep job
            WARNED.add(self.root)
            log.warning(
                "CIFAR-10 files in %s differ from the official release (md5 of %s): results are not "
                "comparable with published numbers",
                self.root,
                ", ".join(mismatched),
            )
        return images, labels
