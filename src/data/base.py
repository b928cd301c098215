"""Serving an in-memory uint8 image tensor as training batches, without a DataLoader.

CIFAR-10 is 150 MB as uint8: it fits in any GPU, so it is moved there once and each batch is an
index gather on the device. Per-item transforms, worker processes and host-to-device copies per
step all disappear; conversion to float and the random flip run per batch on the device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import lightning as L
import torch
from torch import Tensor
from torchvision.transforms.v2.functional import resize

from src.utils.checks import boolean, positive_int
from src.utils.errors import ConfigError, DataError


def check_fraction(fraction: object) -> float:
    """The share of the data set to train on: a number in (0, 1]."""
    ok = isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 < fraction <= 1
    if not ok:
        raise ConfigError(f"data.fraction={fraction!r} is not allowed: use a number in (0, 1], e.g. 0.1")
    return float(fraction)


class ShuffledBatches:
    """An iterable of (images, labels) batches drawn by a fresh permutation each epoch.

    The permutation depends only on (seed, epoch), so every DDP rank draws the same one and takes
    its own disjoint slice. Incomplete batches are dropped: BatchNorm and compiled graphs want a
    fixed batch shape.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        epoch_fn: Callable[[], int] | None = None,
        skip_fn: Callable[[int], int] | None = None,
        position_fn: Callable[[], dict[str, int]] | None = None,
        resume_fn: Callable[[dict[str, int]], None] | None = None,
    ):
        self.images, self.labels = images, labels
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch_fn = epoch_fn or (lambda: 0)
        self.skip_fn = skip_fn or (lambda epoch: 0)  # batches of this epoch already trained on
        self.position_fn, self.resume_fn = position_fn, resume_fn
        self.per_rank = len(images) // world_size
        if self.per_rank < batch_size:
            raise DataError(
                f"data.batch_size={batch_size} is larger than the {self.per_rank} images each of "
                f"{world_size} process(es) gets: use a batch size <= {self.per_rank}"
            )

    def __len__(self) -> int:
        return self.per_rank // self.batch_size

    def state_dict(self) -> dict[str, int]:
        """Lightning stores it in checkpoints: where training is in the epoch (see TensorImageDataModule)."""
        return self.position_fn() if self.position_fn else {}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if self.resume_fn and state_dict:
            self.resume_fn(state_dict)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        epoch = self.epoch_fn()
        generator = torch.Generator().manual_seed(self.seed + epoch)
        order = torch.randperm(len(self.images), generator=generator)
        order = order[self.rank :: self.world_size][: self.per_rank].to(self.images.device)
        first = self.skip_fn(epoch) * self.batch_size  # a resumed epoch goes on where it stopped
        for start in range(first, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.images[index], self.labels[index]


class OrderedBatches:
    """Every image once, in order, the last batch possibly smaller: for evaluation (nothing dropped)."""

    def __init__(self, images: Tensor, labels: Tensor, batch_size: int):
        self.images, self.labels, self.batch_size = images, labels, batch_size

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for start in range(0, len(self.images), self.batch_size):
            yield self.images[start : start + self.batch_size], self.labels[start : start + self.batch_size]


RESIZE_CHUNK = 4096  # images resized at a time, to bound the float copy's memory


def resize_images(images: Tensor, resolution: int) -> Tensor:
    """uint8 [N, C, h, w] -> uint8 [N, C, resolution, resolution], antialiased, done once at load."""
    chunks = [
        resize(images[i : i + RESIZE_CHUNK], [resolution, resolution], antialias=True)
        for i in range(0, len(images), RESIZE_CHUNK)
    ]
    return torch.cat(chunks)


def to_model_range(images: Tensor, hflip: bool) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1], each image mirrored left-right with probability 1/2."""
    x = images.float().div_(127.5).sub_(1.0)
    if hflip:
        mirror = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < 0.5
        x = torch.where(mirror, x.flip(3), x)
    return x


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

    It counts the training batches it hands over (the loader prefetches one ahead, so the loader
    itself cannot), and its ShuffledBatches report that position to Lightning, which stores it in
    checkpoints: a run resumed in the middle of an epoch goes on with the next batch of the same order.
    """

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
        self.epoch, self.batches_done = 0, 0  # training position, saved in checkpoints
        self._resume_at: tuple[int, int] | None = None

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
        name = f"{type(self).__name__}:{getattr(self, 'split', 'train')}:{self.resolution}px"
        if self.fraction < 1.0:
            name += f":fraction={self.fraction}"
        if getattr(self, "official_files", None) is False:
            name += ":non-official-files"
        return name

    def _device(self) -> torch.device:
        trainer = self.trainer
        if self.on_device and trainer is not None:
            return trainer.strategy.root_device
        return torch.device("cpu")

    def train_dataloader(self) -> ShuffledBatches:
        trainer = self.trainer
        return ShuffledBatches(
            self.images,
            self.labels,
            self.batch_size,
            seed=self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
            epoch_fn=(lambda: trainer.current_epoch) if trainer else None,
            skip_fn=self._skip,
            position_fn=lambda: {"epoch": self.epoch, "batches_done": self.batches_done},
            resume_fn=self._resume,
        )

    def _skip(self, epoch: int) -> int:
        """Batches of `epoch` to skip: those a resumed checkpoint had trained on (once)."""
        if self._resume_at is None or self._resume_at[0] != epoch:
            return 0
        skip = self._resume_at[1]
        self._resume_at = None
        return skip

    def _resume(self, position: dict[str, int]) -> None:
        """Continue from a checkpoint's position: the next epoch skips the batches it trained on."""
        self.epoch, self.batches_done = position["epoch"], position["batches_done"]
        self._resume_at = (self.epoch, self.batches_done)

    def test_dataloader(self) -> OrderedBatches:
        return OrderedBatches(self.images, self.labels, self.batch_size)

    def on_after_batch_transfer(
        self, batch: tuple[Tensor, Tensor], dataloader_idx: int
    ) -> tuple[Tensor, Tensor]:
        images, labels = batch
        trainer = self.trainer
        if trainer is not None and trainer.training:  # one more training batch consumed
            if trainer.current_epoch != self.epoch:
                self.epoch, self.batches_done = trainer.current_epoch, 0
            self.batches_done += 1
        return to_model_range(images, self.hflip), labels
