"""The course's classifier augmentations, run per batch on the device with per-image random draws.

Flip, small rotation, zoom (crop), shift, brightness, contrast and Gaussian noise, each switched off
by setting it to 0/false. torchvision.transforms.v2 accepts a batch tensor but draws *one* set of
parameters per call, so every image of the batch would get the same flip and the same rotation; here
each image draws its own, and rotation, zoom and shift are one affine warp (F.affine_grid +
F.grid_sample) for the whole batch, with no per-image Python loop and no host round trip.

Images are in [-1, 1]; brightness and noise are given in [0, 1] pixel units, as in the course.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.core.checks import boolean, in_range, non_negative, one_of

PIXEL_SCALE = 2.0  # [0, 1] pixel units -> the [-1, 1] model range
FILL_MODES = ("zeros", "border", "reflection")


def _uniform(n: int, low: float, high: float, like: Tensor) -> Tensor:
    """n uniform draws in [low, high), on the batch's device, shaped [n, 1, 1, 1]."""
    return torch.empty(n, 1, 1, 1, device=like.device, dtype=like.dtype).uniform_(low, high)


class CourseAugment(nn.Module):
    """Random per-image augmentation in training mode; the identity in eval mode."""

    def __init__(
        self,
        flip: bool = True,
        rotation_degrees: float = 10.0,
        zoom: float = 0.1,
        shift: float = 0.1,
        brightness: float = 0.1,
        contrast: float = 0.1,
        noise_std: float = 0.02,
        fill_mode: str = "reflection",
    ):
        super().__init__()
        boolean(flip, "augment.flip")
        for value, name in (
            (rotation_degrees, "rotation_degrees"),
            (shift, "shift"),
            (brightness, "brightness"),
            (contrast, "contrast"),
            (noise_std, "noise_std"),
        ):
            non_negative(value, f"augment.{name}")
        in_range(zoom, "augment.zoom", 0.0, 1.0)
        one_of(fill_mode, "augment.fill_mode", FILL_MODES)
        self.flip, self.rotation_degrees, self.zoom, self.shift = flip, rotation_degrees, zoom, shift
        self.brightness, self.contrast, self.noise_std = brightness, contrast, noise_std
        self.fill_mode = fill_mode

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        n = x.shape[0]
        if self.flip:
            x = torch.where(_uniform(n, 0, 1, x) < 0.5, x.flip(3), x)
        if self.rotation_degrees or self.zoom or self.shift:
            x = self._warp(x)
        if self.brightness:
            x = x + PIXEL_SCALE * _uniform(n, -self.brightness, self.brightness, x)
        if self.contrast:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * _uniform(n, 1 - self.contrast, 1 + self.contrast, x) + mean
        if self.noise_std:
            x = x + PIXEL_SCALE * self.noise_std * torch.randn_like(x)
        return x.clamp(-1.0, 1.0)

    def _warp(self, x: Tensor) -> Tensor:
        """Rotate by +-rotation_degrees, zoom by 1 +- zoom and shift by +-shift of the size, per image."""
        n = x.shape[0]
        angle = _uniform(n, -1, 1, x).flatten() * math.radians(self.rotation_degrees)
        scale = 1.0 + _uniform(n, -self.zoom, self.zoom, x).flatten()  # > 1 zooms in (a crop)
        shift = _uniform(n * 2, -self.shift, self.shift, x).view(n, 2) * 2  # grid coords span 2
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack(
            [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode=self.fill_mode, align_corners=False)
