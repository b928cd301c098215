"""The yardstick: a plain PyTorch DCGAN training loop, written like pytorch/examples' dcgan/main.py.

A map-style Dataset turns one image at a time into a PIL image, then ToTensor + Normalize; a
DataLoader with worker processes batches them; each batch is copied to the device and trained in
fp32 with BCE and Adam: a D step on real + fake (detached), then a G step. The G and D classes and
their sizes, learning rates and betas are the framework's (read from the composed default config),
so only the loop around them differs. Two departures from the example, both in its favour or
neutral: it does not call `.item()` each step to print losses (a host sync per step), and it drops
the last incomplete batch of an epoch (ganlab does too), so every timed step has the same shape.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from benchmarks.config import compose_run
from benchmarks.data import CHANNELS, FOLDER, SIDE, TRAIN_FILES
from benchmarks.timing import RunSpec, Stopwatch, Timing
from src.models import DCGANDiscriminator, DCGANGenerator

NORMALIZE = ((0.5,) * CHANNELS, (0.5,) * CHANNELS)  # [0, 1] -> [-1, 1], as in the example
REAL_LABEL, FAKE_LABEL = 1.0, 0.0
PRECISION = "32 (fp32)"


class CIFAR10Pickles(Dataset):
    """CIFAR-10's training split read from the official pickle files, served like torchvision's CIFAR10
    (PIL image -> transform, label). torchvision's class refuses files whose md5 differs from the
    official release, e.g. a re-encoded local copy; this one reads any file in that layout."""

    def __init__(
        self, folder: Path, transform: transforms.Compose | None = None, files: list[str] = TRAIN_FILES
    ):
        data, targets = [], []
        for name in files:
            with open(Path(folder) / name, "rb") as f:
                entry = pickle.load(f, encoding="bytes")
            data.append(np.asarray(entry[b"data"], dtype=np.uint8).reshape(-1, CHANNELS, SIDE, SIDE))
            targets.extend(entry[b"labels"])
        self.data = np.ascontiguousarray(np.concatenate(data).transpose(0, 2, 3, 1))  # HWC, as PIL wants
        self.targets = [int(t) for t in targets]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor | Image.Image, int]:
        image = Image.fromarray(self.data[index])
        return (self.transform(image) if self.transform else image), self.targets[index]


def example_transform() -> transforms.Compose:
    """PIL image -> float [-1, 1] tensor, per image, in the worker processes (as the example does)."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(*NORMALIZE)])


def make_loader(folder: Path, batch_size: int, workers: int) -> DataLoader:
    dataset = CIFAR10Pickles(folder, example_transform())
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True)


def epochs(loader: DataLoader) -> Iterator[tuple[Tensor, Tensor]]:
    """The loader's batches, epoch after epoch (a timed window may span an epoch boundary)."""
    while True:
        yield from loader


class PlainDCGAN:
    """netG, netD, two Adams and BCE, stepped exactly like the example's inner loop."""

    def __init__(self, spec: RunSpec):
        cfg = compose_run(spec)  # the framework's default config: same nets, sizes, lr, betas, seed
        model = cfg.model
        torch.manual_seed(cfg.seed)
        self.device, self.latent_dim = spec.device, model.latent_dim
        args = {key: value for key, value in model.generator.items() if key != "_target_"}
        self.netG = DCGANGenerator(**args).to(self.device)
        args = {key: value for key, value in model.discriminator.items() if key != "_target_"}
        self.netD = DCGANDiscriminator(**args).to(self.device)
        self.criterion = (
            nn.BCEWithLogitsLoss()
        )  # our D returns logits: the example's Sigmoid + BCELoss in one
        betas = tuple(model.optimizer.betas)
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=model.lr_d, betas=betas)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=model.lr_g, betas=betas)

    def step(self, real: Tensor) -> None:
        b_size = real.size(0)
        # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
        self.netD.zero_grad()
        label = torch.full((b_size,), REAL_LABEL, device=self.device)
        errD_real = self.criterion(self.netD(real), label)
        errD_real.backward()
        noise = torch.randn(b_size, self.latent_dim, device=self.device)
        fake = self.netG(noise)
        label.fill_(FAKE_LABEL)
        errD_fake = self.criterion(self.netD(fake.detach()), label)
        errD_fake.backward()
        self.optimizerD.step()
        # (2) update G: maximize log(D(G(z)))
        self.netG.zero_grad()
        label.fill_(REAL_LABEL)
        errG = self.criterion(self.netD(fake), label)
        errG.backward()
        self.optimizerG.step()


def measure_plain(spec: RunSpec) -> Timing:
    """Images/s of the plain loop: `spec.warmup` steps, then `spec.steps` timed steps."""
    torch.backends.cudnn.benchmark = True  # as the example sets it (the caller restores the flag)
    gan = PlainDCGAN(spec)
    loader = make_loader(spec.data_dir / FOLDER, spec.batch_size, spec.workers)
    clock, images = Stopwatch(spec.device), 0
    batches = epochs(loader)
    for i, (real, _) in enumerate(batches):
        if i == spec.warmup:
            clock.start()
        gan.step(real.to(spec.device))
        if i >= spec.warmup:
            images += real.size(0)
        if i == spec.warmup + spec.steps - 1:
            break
    clock.stop()
    batches.close()  # shuts the worker processes down
    return Timing(images=images, seconds=clock.seconds, precision=PRECISION)
