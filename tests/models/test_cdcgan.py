"""The GAN family's nets: MLP GAN, conditional DCGAN with projection D, D normalisation, spectral norm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.models import (
    ConditionalDCGANGenerator,
    DCGANDiscriminator,
    MLPDiscriminator,
    MLPGenerator,
    ProjectionDiscriminator,
)
from src.models.spectral_norm import apply_spectral_norm
from src.utils.errors import ConfigError


def test_mlp_gan_is_the_course_architecture():
    g = MLPGenerator(latent_dim=20, base_width=128)
    d = MLPDiscriminator(base_width=128)
    assert [type(m) for m in g.net] == [nn.Linear, nn.ReLU, nn.Linear, nn.Tanh]
    assert (g.net[0].in_features, g.net[0].out_features, g.net[2].out_features) == (20, 128, 3 * 32 * 32)
    assert [type(m) for m in d.net] == [nn.Flatten, nn.Linear, nn.LeakyReLU, nn.Linear]
    assert d.net[2].negative_slope == 0.2 and d.net[3].out_features == 1
    x = g(torch.randn(5, 20))
    assert tuple(x.shape) == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert tuple(d(x).shape) == (5,)


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


def test_unknown_norm_is_one_line():
    with pytest.raises(ConfigError, match=r"model.discriminator.norm='group' is unknown: use one of"):
        DCGANDiscriminator(norm="group")


def test_conditional_generator_honours_its_labels():
    g = ConditionalDCGANGenerator(latent_dim=8, num_classes=4, embed_dim=5, base_width=4).eval()
    z = torch.randn(6, 8)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    x = g(z, labels)
    assert tuple(x.shape) == (6, 3, 32, 32)
    same_z = z[:1].expand(4, 8)
    per_class = g(same_z, torch.arange(4))
    assert all(not torch.equal(per_class[0], per_class[c]) for c in (1, 2, 3))  # the label changes the image
    assert torch.equal(g(same_z, torch.zeros(4, dtype=torch.long))[1], g(same_z[:2], torch.tensor([0, 0]))[0])
    with pytest.raises(IndexError):
        g(z[:1], torch.tensor([4]))  # out of range labels are not silently wrapped


def test_projection_term_is_exactly_the_label_difference():
    d = ProjectionDiscriminator(num_classes=5, base_width=4).eval()
    nn.init.normal_(d.embed.weight)  # make the projection term large
    x = torch.randn(3, 3, 32, 32)
    y1, y2 = torch.tensor([0, 1, 2]), torch.tensor([4, 3, 2])
    with torch.no_grad():
        delta = d(x, y1) - d(x, y2)
        expected = ((d.embed(y1) - d.embed(y2)) * d.phi(x)).sum(1)
        psi = d.body.net[-1](d.body.features(x)).flatten()
        assert torch.allclose(d(x, y1), psi + (d.embed(y1) * d.phi(x)).sum(1), atol=1e-5)
    assert torch.allclose(delta, expected, atol=1e-4)
    assert delta[2] == 0 and delta[:2].abs().min() > 1e-3


def top_singular_value(weight: torch.Tensor) -> float:
    return torch.linalg.matrix_norm(weight.detach().reshape(weight.shape[0], -1), ord=2).item()


@pytest.mark.parametrize("make", [lambda: DCGANDiscriminator(base_width=8, norm="none"), MLPDiscriminator])
def test_spectral_norm_bounds_the_top_singular_value(make):
    torch.manual_seed(0)
    d = make()
    layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer in layers:
            layer.weight.mul_(3.0)  # well away from 1 before normalising
    raw = [top_singular_value(layer.weight) for layer in layers]
    assert all(abs(s - 1) > 0.1 for s in raw)
    apply_spectral_norm(d)
    d.train()
    with torch.no_grad():
        for _ in range(100):  # one power iteration per training forward
            d(torch.randn(4, 3, 32, 32))
    for layer in layers:
        assert torch.nn.utils.parametrize.is_parametrized(layer, "weight")
        assert top_singular_value(layer.weight) == pytest.approx(1.0, abs=2e-2)
