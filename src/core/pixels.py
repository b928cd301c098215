"""The three pixel ranges, converted in one place: data sets hold uint8 [0, 255], models make float
[-1, 1], image writers want [0, 1] (and the FID network reads uint8, as an image file would)."""

from __future__ import annotations

import torch
from torch import Tensor

UINT8_HALF = 127.5  # [0, 255] <-> [-1, 1]


def to_model_range(images: Tensor, hflip: bool = False) -> Tensor:
    """uint8 [0, 255] -> float [-1, 1], each image mirrored left-right with probability 1/2 if `hflip`."""
    x = images.float().div_(UINT8_HALF).sub_(1.0)
    if hflip:
        mirror = torch.rand(x.shape[0], 1, 1, 1, device=x.device) < 0.5
        x = torch.where(mirror, x.flip(3), x)
    return x


def to_uint8(images: Tensor) -> Tensor:
    """Model output in [-1, 1] -> uint8 [0, 255], as an image file would store it."""
    return ((images.float().clamp(-1, 1) + 1) * UINT8_HALF).round().to(torch.uint8)


def to_unit_range(images: Tensor) -> Tensor:
    """[-1, 1] float or [0, 255] uint8 -> float [0, 1], as image writers expect."""
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return (images.float().clamp(-1, 1) + 1) / 2
