"""The yardstick: a plain PyTorch DCGAN loop, written like pytorch/examples' dcgan/main.py.

Per-image PIL + ToTensor + Normalize in DataLoader workers, fp32, BCE and Adam: a D step on real + fake
(detached), then a G step. Nets, sizes, learning rates, betas and seed are the framework's config, so only
the loop differs. Unlike the example it prints no losses (a host sync per step) and drops the last
incomplete batch (as ganlab does).
"""

from __future__ import annotations

import time
from argparse import Namespace
from pathlib import Path

import torch
from omegaconf import DictConfig
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from src.core.device import sync_device
from src.data.cifar10 import FOLDER, read_split
from src.models import DCGANDiscriminator, DCGANGenerator

PRECISION = "32 (fp32)"


class CIFAR10Pickles(Dataset):
    """The training split served like torchvision's CIFAR10 (PIL image -> transform, label), but from any
    file in the official layout (torchvision refuses a copy whose md5 differs)."""

    def __init__(self, folder: Path, transform: transforms.Compose | None = None):
        images, labels, _ = read_split(Path(folder), "train")
        self.data = images.permute(0, 2, 3, 1).contiguous().numpy()  # HWC, as PIL wants
        self.targets, self.transform = labels.tolist(), transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor | Image.Image, int]:
        image = Image.fromarray(self.data[index])
        return (self.transform(image) if self.transform else image), self.targets[index]


def example_transform() -> transforms.Compose:
    """PIL image -> float [-1, 1] tensor, per image, in the worker processes (as the example does)."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3)])


def make_loader(folder: Path, batch_size: int, workers: int) -> DataLoader:
    dataset = CIFAR10Pickles(folder, example_transform())
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers, drop_last=True)


def images_per_sec(args: Namespace, cfg: DictConfig) -> tuple[float, str]:
    """(images/s, precision): `args.warmup` untimed steps, then `args.steps` timed ones on `cfg`'s DCGAN."""
    torch.backends.cudnn.benchmark = True  # as the example sets it (the caller restores the flag)
    model, device, batch_size = cfg.model, torch.device(args.device), cfg.data.batch_size
    torch.manual_seed(cfg.seed)
    g_args, d_args = (
        {k: v for k, v in model[n].items() if k != "_target_"} for n in ("generator", "discriminator")
    )
    netG = DCGANGenerator(latent_dim=model.latent_dim, **g_args).to(device)  # as src.gan.GAN builds it
    netD = DCGANDiscriminator(**d_args).to(device)
    criterion = nn.BCEWithLogitsLoss()  # our D returns logits: the example's Sigmoid + BCELoss in one
    optimizerD = torch.optim.Adam(netD.parameters(), lr=model.lr_d, betas=tuple(model.optimizer.betas))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=model.lr_g, betas=tuple(model.optimizer.betas))
    loader = make_loader(Path(args.data_dir) / FOLDER, batch_size, args.workers)
    step, end = 0, args.warmup + args.steps
    while step < end:  # epoch after epoch: the timed steps may span an epoch boundary
        for real, _ in loader:
            if step == args.warmup:
                sync_device(device)
                started = time.perf_counter()
            real, label = real.to(device), torch.full((batch_size,), 1.0, device=device)
            netD.zero_grad()  # (1) update D: maximize log(D(x)) + log(1 - D(G(z)))
            criterion(netD(real), label).backward()
            fake = netG(torch.randn(batch_size, model.latent_dim, device=device))
            criterion(netD(fake.detach()), label.fill_(0.0)).backward()
            optimizerD.step()
            netG.zero_grad()  # (2) update G: maximize log(D(G(z)))
            criterion(netD(fake), label.fill_(1.0)).backward()
            optimizerG.step()
            step += 1
            if step == end:
                break
    sync_device(device)
    return args.steps * batch_size / (time.perf_counter() - started), PRECISION
