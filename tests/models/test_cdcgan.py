"""The class-conditional DCGAN (src/models/cdcgan.py): G embeds its label, D adds a projection term."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.core.errors import ConfigError
from src.models import ConditionalDCGANGenerator, ProjectionDiscriminator


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
        expected = ((d.embed(y1) - d.embed(y2)) * d.body.features(x).flatten(1)).sum(1)
        psi = d.body.net[-1](d.body.features(x)).flatten()
        assert torch.allclose(d(x, y1), psi + (d.embed(y1) * d.body.features(x).flatten(1)).sum(1), atol=1e-5)
    assert torch.allclose(delta, expected, atol=1e-4)
    assert delta[2] == 0 and delta[:2].abs().min() > 1e-3


@pytest.mark.parametrize(
    "make,named",
    [
        (lambda: ConditionalDCGANGenerator(num_classes=0), "model.generator.num_classes=0 is not allowed"),
        (lambda: ConditionalDCGANGenerator(embed_dim=0), "model.generator.embed_dim=0 is not allowed"),
        (lambda: ProjectionDiscriminator(num_classes=0), "model.discriminator.num_classes=0 is not allowed"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(make, named):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
