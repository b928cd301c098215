"""DiffAugment (Zhao et al., 2020): differentiable augmentations of every image the discriminator sees.

With little data, D memorises the training images and G's gradients stop being useful. Augmenting
real *and* fake images, in D's step and in G's, with the same differentiable transforms keeps D from
memorising while G still gets gradients through the augmentation. The three policies and their
ranges follow the authors' reference implementation; each image draws its own random parameters on
the device (no host round trip).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from src.core.errors import ConfigError

TRANSLATION_RATIO = 0.125  # shift by up to 1/8 of the image size, padding with zeros
CUTOUT_RATIO = 0.5  # erase a square of half the image size


def _per_image(x: Tensor) -> Tensor:
    """A uniform [0, 1) draw per image, shaped to broadcast over [B, C, H, W]."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def color(x: Tensor) -> Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per image."""
    x = x + (_per_image(x) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_per_image(x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_per_image(x) + 0.5) + mean


def translation(x: Tensor, ratio: float = TRANSLATION_RATIO) -> Tensor:
    """Shift each image by a random whole number of pixels (up to ratio * size), zeros coming in."""
    b, c, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy  # source row of each output pixel
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    index = (rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)).view(b, 1, h * w).expand(b, c, h * w)
    shifted = x.flatten(2).gather(2, index).view(b, c, h, w)
    return shifted * inside.unsqueeze(1).to(x.dtype)


def cutout(x: Tensor, ratio: float = CUTOUT_RATIO) -> Tensor:
    """Zero a square of ratio * size at a random centre of each image (clipped at the borders)."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), device=x.device) - size_y // 2
    left = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    erased = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)
    return x * (~erased).unsqueeze(1).to(x.dtype)


POLICIES: dict[str, Callable[[Tensor], Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str | Sequence[str] | None) -> tuple[str, ...]:
    """ "color,translation,cutout" -> ("color", "translation", "cutout"); "" or None -> () (off)."""
    if policy is None:
        return ()
    names = policy.split(",") if isinstance(policy, str) else list(policy)
    return tuple(n.strip() for n in names if n.strip())


def diff_augment(x: Tensor, policy: Sequence[str]) -> Tensor:
    """Apply each named augmentation in order; differentiable with respect to x."""
    for name in policy:
        x = POLICIES[name](x)
    return x


class DiffAugment(nn.Module):
    """The augmentation as a module: the identity when the policy is empty."""

    def __init__(self, policy: str | Sequence[str] | None = None):
        super().__init__()
        self.policy = parse_policy(policy)
        bad = [name for name in self.policy if name not in POLICIES]
        if bad:
            raise ConfigError(
                f"model.diffaugment={','.join(self.policy)!r} has unknown {', '.join(map(repr, bad))}: "
                f"use a comma-separated subset of {','.join(POLICIES)} (empty = off)"
            )

    def forward(self, x: Tensor) -> Tensor:
        return diff_augment(x, self.policy) if self.policy else x
