from __future__ import annotations

import pytest
import torch

from src.models import DCGANDiscriminator, DCGANGenerator
from src.models.dcgan import num_stride2_blocks
from src.utils.errors import ConfigError


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


@pytest.mark.parametrize("resolution", [16, 48, 100])
def test_bad_resolution(resolution):
    with pytest.raises(ConfigError, match=f"data.resolution={resolution}"):
        DCGANGenerator(resolution=resolution)
