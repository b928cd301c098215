"""The DCGAN nets (src/models/dcgan.py): depth from the resolution, the paper's layers and init, D norms."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.core.errors import ConfigError
from src.models import DCGANDiscriminator, DCGANGenerator
from src.models.dcgan import check_resolution, num_stride2_blocks


@pytest.mark.parametrize("resolution,blocks", [(32, 3), (64, 4)])
def test_shapes_and_depth(resolution, blocks):
    g = DCGANGenerator(latent_dim=20, base_width=8, resolution=resolution)
    d = DCGANDiscriminator(base_width=8, resolution=resolution)
    z = torch.randn(5, 20)
    x = g(z)
    assert tuple(x.shape) == (5, 3, resolution, resolution)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert tuple(d(x).shape) == (5,)
    assert num_stride2_blocks(resolution) == blocks
    convs_g = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    convs_d = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs_g) == blocks + 1 and len(convs_d) == blocks + 1


def test_discriminator_architecture_follows_dcgan():
    d = DCGANDiscriminator(base_width=8, resolution=32)
    layers = list(d.net)
    assert isinstance(layers[0], torch.nn.Conv2d) and isinstance(layers[1], torch.nn.LeakyReLU)  # no BN first
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in d.modules())
    assert all(m.negative_slope == 0.2 for m in d.modules() if isinstance(m, torch.nn.LeakyReLU))


def test_dcgan_initialisation():
    g = DCGANGenerator(latent_dim=64, base_width=32)
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    scales = torch.cat([m.weight for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert weights.mean().abs() < 2e-3 and abs(weights.std().item() - 0.02) < 2e-3
    assert abs(scales.mean().item() - 1.0) < 0.01 and abs(scales.std().item() - 0.02) < 0.01


@pytest.mark.parametrize("resolution", [16, 48, 100, "32"])
def test_bad_resolution_is_one_line(resolution):
    for make in (DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ConfigError) as err:
            make(resolution=resolution)
        message = str(err.value)
        assert message == f"data.resolution={resolution!r} is not allowed: use a power of two >= 32"
    assert check_resolution(64) == 64


@pytest.mark.parametrize("norm,kind", [("batch", nn.BatchNorm2d), ("layer", nn.GroupNorm), ("none", None)])
def test_dcgan_discriminator_norm_option(norm, kind):
    d = DCGANDiscriminator(base_width=8, norm=norm)
    norms = [m for m in d.modules() if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm))]
    if kind is None:
        assert norms == []
        assert all(m.bias is not None for m in list(d.net)[2:-1] if isinstance(m, nn.Conv2d))
    else:
        assert len(norms) == 2 and all(type(m) is kind for m in norms)
    if norm == "layer":  # one group: normalised over (C, H, W) per sample, i.e. layer norm
        assert all(m.num_groups == 1 for m in norms)
    assert tuple(d(torch.randn(3, 3, 32, 32)).shape) == (3,)


@pytest.mark.parametrize(
    "make,named",
    [
        (lambda: DCGANGenerator(latent_dim=0), "model.latent_dim=0 is not allowed"),
        (lambda: DCGANGenerator(base_width=2.5), "model.generator.base_width=2.5 is not allowed"),
        (lambda: DCGANDiscriminator(base_width=0), "model.discriminator.base_width=0 is not allowed"),
        (lambda: DCGANDiscriminator(norm="group"), "model.discriminator.norm='group' is unknown: use one of"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(make, named):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
