"""The course's MLP GAN (src/models/mlp.py): one hidden layer each, the optional D normalisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.core.errors import ConfigError
from src.models import MLPDiscriminator, MLPGenerator


def test_mlp_gan_is_the_course_architecture():
    g = MLPGenerator(latent_dim=20, base_width=128)
    d = MLPDiscriminator(base_width=128)
    assert g.latent_dim == 20
    assert [type(m) for m in g.net] == [nn.Linear, nn.ReLU, nn.Linear, nn.Tanh]
    assert (g.net[0].in_features, g.net[0].out_features, g.net[2].out_features) == (20, 128, 3 * 32 * 32)
    assert [type(m) for m in d.net] == [nn.Flatten, nn.Linear, nn.LeakyReLU, nn.Linear]
    assert d.net[2].negative_slope == 0.2 and d.net[3].out_features == 1
    x = g(torch.randn(5, 20))
    assert tuple(x.shape) == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert tuple(d(x).shape) == (5,)


@pytest.mark.parametrize("norm,kind", [("batch", nn.BatchNorm1d), ("layer", nn.LayerNorm), ("none", None)])
def test_discriminator_norm_follows_the_shared_rule(norm, kind):
    d = MLPDiscriminator(base_width=16, norm=norm)
    norms = [m for m in d.net if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm))]
    assert [type(m) for m in norms] == ([kind] if kind else [])
    assert tuple(d(torch.randn(3, 3, 32, 32)).shape) == (3,)


@pytest.mark.parametrize(
    "make,named",
    [
        (lambda: MLPGenerator(latent_dim=0), "model.latent_dim=0 is not allowed"),
        (lambda: MLPGenerator(base_width=-1), "model.generator.base_width=-1 is not allowed"),
        (lambda: MLPDiscriminator(base_width=0), "model.discriminator.base_width=0 is not allowed"),
        (lambda: MLPDiscriminator(norm="group"), "model.discriminator.norm='group' is unknown"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(make, named):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
