"""The course's augmentations (src/classifier/augment.py): per-image draws, each switch, range checks."""

from __future__ import annotations

import pytest
import torch

from src.classifier.augment import CourseAugment
from src.core.errors import ConfigError


def test_augmentations_draw_per_image_and_switch_off():
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).expand(32, 3, 32, 32).contiguous()
    every = CourseAugment().train()
    y = every(x)
    assert len({round(v, 4) for v in y.flatten(1).sum(1).tolist()}) == 32  # each image its own draw
    assert y.min() >= -1 and y.max() <= 1
    assert every.eval()(x) is x  # evaluation sees the images as they are
    off = CourseAugment(
        flip=False, rotation_degrees=0, zoom=0, shift=0, brightness=0, contrast=0, noise_std=0
    ).train()
    assert torch.equal(off(x), x)
    flip_only = CourseAugment(
        flip=True, rotation_degrees=0, zoom=0, shift=0, brightness=0, contrast=0, noise_std=0
    ).train()
    z = flip_only(x)
    mirrored = (z == x.flip(3)).flatten(1).all(1)
    assert ((z == x).flatten(1).all(1) | mirrored).all() and 0 < mirrored.sum() < 32


def test_shift_alone_moves_content_by_whole_warps():
    x = torch.zeros(8, 1, 32, 32)
    x[:, :, 12:20, 12:20] = 1.0
    shift = CourseAugment(
        flip=False,
        rotation_degrees=0,
        zoom=0,
        shift=0.1,
        brightness=0,
        contrast=0,
        noise_std=0,
        fill_mode="zeros",
    ).train()
    torch.manual_seed(1)
    y = shift(x)
    centres = [(img[0] > 0.5).nonzero().float().mean(0) for img in y]
    offsets = torch.stack(centres) - 15.5
    assert offsets.abs().max() <= 0.1 * 32 + 0.5 and offsets.abs().max() > 0.5


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"flip": 1}, "augment.flip=1 is not allowed: use true or false"),
        ({"rotation_degrees": -5}, "augment.rotation_degrees=-5 is not allowed: use a number >= 0"),
        ({"shift": -0.1}, "augment.shift=-0.1 is not allowed"),
        ({"brightness": "x"}, "augment.brightness='x' is not allowed"),
        ({"contrast": -1}, "augment.contrast=-1 is not allowed"),
        ({"noise_std": -0.02}, "augment.noise_std=-0.02 is not allowed"),
        ({"zoom": 1.0}, "augment.zoom=1.0 is not allowed: use a number in [0.0, 1.0)"),
        ({"fill_mode": "wrap"}, "augment.fill_mode='wrap' is unknown: use one of zeros, border, reflection"),
    ],
)
def test_bad_ranges_are_one_line_naming_the_key(kwargs, named):
    with pytest.raises(ConfigError) as err:
        CourseAugment(**kwargs)
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
