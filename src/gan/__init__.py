"""The GAN room: the LightningModule and what only it uses (losses, DiffAugment, EMA, spectral norm,
speed knobs). Nets come from src/models; data, callbacks and metrics know only `GAN.sample`."""

from src.gan.module import GAN

__all__ = ["GAN"]
