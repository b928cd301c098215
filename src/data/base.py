"""Serving an in-memory uint8 image tensor as training batches, without a DataLoader.

CIFAR-10 is 150 MB as uint8: it fits in any GPU, so it is moved there once and each batch is an
index gather on the device. Per-item transforms, worker processes and host-to-device copies per
step all disappear; conversion to float and the random flip run per batch on the device.
"""

from __future__ import annotations

from collections.abc import Iterator

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset
from torchvision.transforms.v2.functional import resize

from src.core.checks import boolean, is_number, positive_int
from src.core.errors import ConfigError, DataError
from src.core.pixels import to_model_range


def check_fraction(fraction: object) -> float:
    """The share of the data set to train on: a number in (0, 1]."""
    if not (is_number(fraction) and 0 < fraction <= 1):
        raise ConfigError(f"data.fraction={fraction!r} is not allowed: use a number in (0, 1], e.g. 0.1")
    return float(fraction)


class ShuffledBatches:
    """(images, labels) batches in a fresh permutation each epoch, resumable in the middle of one.

    The permutation depends only on (seed, epoch), so every DDP rank draws the same one and takes its
    own disjoint slice; Lightning tells the epoch through the sampler protocol (`set_epoch`, as for
    a DistributedSampler). Its state, which Lightning stores in checkpoints, is how many batches of
    the epoch training has consumed (the data module counts them as they arrive: the loader fetches
    one ahead); a resumed epoch goes on with the next batch of the same order. Lightning itself would
    start the epoch's batches again from the first (tests/run/test_lightning_overrides.py).
    Incomplete batches are dropped: BatchNorm and compiled graphs want a fixed batch shape.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.images, self.labels = images, labels
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.per_rank = len(images) // world_size
        if self.per_rank < batch_size:
            raise DataError(
                f"data.batch_size={batch_size} is larger than the {self.per_rank} images each of "
                f"{world_size} process(es) gets: use a batch size <= {self.per_rank}"
            )
        self.epoch, self.batches_done = 0, 0
        self._skip = 0  # batches of `epoch` a resumed checkpoint had trained on (skipped once)

    @property
    def sampler(self) -> ShuffledBatches:
        return self  # the object Lightning calls set_epoch on

    def set_epoch(self, epoch: int) -> None:
        if epoch != self.epoch:
            self.epoch, self.batches_done, self._skip = epoch, 0, 0

    def consumed(self) -> None:
        """One more batch of this epoch reached a training step."""
        self.batches_done += 1

    def __len__(self) -> int:
        return self.per_rank // self.batch_size

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batches_done": self.batches_done}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if state_dict:
            self.epoch, self.batches_done = state_dict["epoch"], state_dict["batches_done"]
            self._skip = self.batches_done

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.images), generator=generator)
        order = order[self.rank :: self.world_size][: self.per_rank].to(self.images.device)
        first, self._skip = self._skip * self.batch_size, 0
        for start in range(first, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.images[index], self.labels[index]


RESIZE_CHUNK = 4096  # images resized at a time, to bound the float copy's memory


def resize_images(images: Tensor, resolution: int) -> Tensor:
    """uint8 [N, C, h, w] -> uint8 [N, C, resolution, resolution], antialiased, done once at load."""
    chunks = [
        resize(images[i : i + RESIZE_CHUNK], [resolution, resolution], antialias=True)
        for i in range(0, len(images), RESIZE_CHUNK)
    ]
    return torch.cat(chunks)


def stratified_subset(labels: Tensor, fraction: float, seed: int) -> Tensor:
    """Sorted indices of a fixed random `fraction` of each class (at least one image per class).

    Stratified, so 10% of CIFAR-10 is exactly 500 images of every class, and seeded apart from the
    training seed, so runs with different seeds train on the same subset.
    """
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    shuffled = labels[order]
    keep = []
    for c in torch.unique(labels):
        members = order[shuffled == c]
        keep.append(members[: max(1, round(fraction * len(members)))])
    return torch.cat(keep).sort().values


class TensorImageDataModule(L.LightningDataModule):
    """Base for data sets that fit in memory: subclasses implement `load()`; this serves batches.

    It counts the training batches that reach a step into its ShuffledBatches, whose state Lightning
    stores in checkpoints: a run resumed in the middle of an epoch goes on with the next batch.
    """

    split = "train"  # a data set with splits sets its own
    official_files: bool | None = None  # CIFAR-10: whether the md5 sums are the release's (known after load)

    def __init__(
        self,
        batch_size: int = 64,
        resolution: int = 32,
        channels: int = 3,
        hflip: bool = True,
        on_device: bool = True,
        seed: int = 0,
        fraction: float = 1.0,
        fraction_seed: int = 0,
    ):
        super().__init__()
        for value, name in ((batch_size, "batch_size"), (resolution, "resolution"), (channels, "channels")):
            positive_int(value, f"data.{name}")
        for value, name in ((hflip, "hflip"), (on_device, "on_device")):
            boolean(value, f"data.{name}")
        self.batch_size, self.resolution, self.channels = batch_size, resolution, channels
        self.hflip, self.on_device, self.seed = hflip, on_device, seed
        self.fraction, self.fraction_seed = check_fraction(fraction), fraction_seed
        self.images: Tensor | None = None
        self.labels: Tensor | None = None
        self.num_classes = 0
        self._train_batches: ShuffledBatches | None = None

    def load(self) -> tuple[Tensor, Tensor]:
        """Return uint8 images [N, C, H, W] and int64 labels [N]."""
        raise NotImplementedError

    def setup(self, stage: str | None = None) -> None:
        if self.images is None:
            images, labels = self.load()
            if images.ndim == 4 and images.shape[-2:] != (self.resolution, self.resolution):
                images = resize_images(images, self.resolution)
            expected = (self.channels, self.resolution, self.resolution)
            if images.dtype != torch.uint8 or tuple(images.shape[1:]) != expected:
                raise DataError(
                    f"{type(self).__name__} loaded images {tuple(images.shape)} {images.dtype}: "
                    f"expected uint8 [N, {expected[0]}, {expected[1]}, {expected[2]}] (check data.resolution)"
                )
            if self.fraction < 1.0:
                keep = stratified_subset(labels, self.fraction, self.fraction_seed)
                images, labels = images[keep], labels[keep]
            self.images, self.labels = images, labels.long()
            self.num_classes = int(self.labels.max()) + 1 if len(self.labels) else 0
        device = self._device()
        if self.images.device != device:
            self.images, self.labels = self.images.to(device), self.labels.to(device)

    def describe(self) -> str:
        """Names the data for metric protocols, e.g. `CIFAR10DataModule:train:32px:non-official-files`."""
        name = f"{type(self).__name__}:{self.split}:{self.resolution}px"
        if self.fraction < 1.0:
            name += f":fraction={self.fraction}"
        if self.official_files is False:
            name += ":non-official-files"
        return name

    def _device(self) -> torch.device:
        trainer = self.trainer
        if self.on_device and trainer is not None:
            return trainer.strategy.root_device
        return torch.device("cpu")

    def train_dataloader(self) -> ShuffledBatches:
        trainer = self.trainer
        rank, world_size = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        self._train_batches = ShuffledBatches(
            self.images, self.labels, self.batch_size, self.seed, rank, world_size
        )
        return self._train_batches

    def test_dataloader(self) -> DataLoader:
        """Every image once, in order, the last batch possibly smaller: for evaluation."""
        return DataLoader(TensorDataset(self.images, self.labels), batch_size=self.batch_size)

    def on_after_batch_transfer(
        self, batch: tuple[Tensor, Tensor], dataloader_idx: int
    ) -> tuple[Tensor, Tensor]:
        images, labels = batch
        if self.trainer is not None and self.trainer.training and self._train_batches is not None:
            self._train_batches.consumed()
        return to_model_range(images, self.hflip), labels
