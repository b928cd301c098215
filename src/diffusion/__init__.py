"""The diffusion room: the DDPM LightningModule, noise schedules and the DDPM/DDIM samplers. The U-Net
comes from src/models; data, callbacks and metrics know only `DDPM.sample`, as for the GANs."""

from src.diffusion.module import DDPM

__all__ = ["DDPM"]
