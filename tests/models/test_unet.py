"""The DDPM U-Net: the paper's size by default, shapes, the timestep matters, one-line argument errors."""

from __future__ import annotations

import pytest
import torch

from src.core.errors import ConfigError
from src.models import UNet

TINY = {"ch": 16, "ch_mult": (1, 2), "num_res_blocks": 1, "norm_groups": 8, "dropout": 0.0}


def test_default_is_the_papers_cifar10_size():
    params = sum(p.numel() for p in UNet().parameters())
    assert 35.5e6 < params < 36e6  # Ho et al.: 35.7M


def test_output_has_the_input_shape_and_depends_on_t():
    torch.manual_seed(0)
    net = UNet(**TINY)
    for p in net.parameters():  # the zero-initialised layers (identity blocks) would hide t
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(3, 3, 32, 32)
    a, b = net(x, torch.tensor([0, 1, 2])), net(x, torch.tensor([999, 500, 2]))
    assert a.shape == x.shape
    assert not torch.allclose(a[0], b[0]) and torch.allclose(a[2], b[2])


@pytest.mark.parametrize(
    ("kwargs", "start"),
    [
        ({"ch": 0}, "model.unet.ch=0"),
        ({"attn_resolutions": [8]}, "model.unet.attn_resolutions contains 8"),
        ({"resolution": 31}, "model.unet.resolution=31"),
        ({"norm_groups": 32}, "model.unet.norm_groups=32"),
        ({"dropout": 1.5}, "model.unet.dropout=1.5"),
    ],
)
def test_bad_arguments_are_one_line(kwargs, start):
    with pytest.raises(ConfigError) as err:
        UNet(**{**TINY, **kwargs})
    assert str(err.value).startswith(start) and "\n" not in str(err.value)
