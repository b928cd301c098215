"""BigGAN for CIFAR-10 (src/models/biggan.py): StudioGAN's sizes, conditioning, built-in SN, hinge steps."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from src.core.errors import ConfigError
from src.models.biggan import BigGANDiscriminator, BigGANGenerator, ConditionalBatchNorm2d, SelfAttention
from tests.helpers import hinge_steps


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def attention(c: int) -> int:
    return 2 * conv(c, c // 8, 1, False) + 2 * conv(c, c // 2, 1, False) + 1  # theta, phi, g, out, sigma


def test_parameter_counts_match_studiogan_cifar10_biggan():
    """Counted layer by layer from PyTorch-StudioGAN src/models/big_resnet.py + src/utils/ops.py with
    src/configs/CIFAR10/BigGAN-Mod.yaml (z_dim 80, g_shared_dim 128, g/d_conv_dim 96, attention G after
    block 2 and D after block 1, cBN gain/bias linears without bias, BN affine=False inside cBN).
    StudioGAN prints no count in its README text, configs or code (the README's benchmark is a figure
    not checked here): G 9,416,196 (9.4M), D 2,415,170 (2.4M) are what that code builds."""
    c, chunk, cond, w = 4 * 96, 80 // 4, 128 + 80 // 4, 2 * 96
    g_block = 2 * 2 * cond * c + 2 * conv(c, c, 3) + conv(c, c, 1)  # 2 cBN (gain, bias), 2 conv3x3, 1x1
    g_ref = (chunk * c * 16 + c * 16) + 10 * 128 + 3 * g_block + attention(c) + 2 * c + conv(c, 3, 3)
    d_ref = (
        conv(3, w, 3) + conv(w, w, 3) + conv(3, w, 1) + attention(w)  # optimized block, attention
        + 2 * conv(w, w, 3) + conv(w, w, 1) + 2 * 2 * conv(w, w, 3)  # down block, two plain blocks
        + (w + 1) + 10 * w  # psi and the projection embedding
    )  # fmt: skip
    g, d = BigGANGenerator(), BigGANDiscriminator()
    assert (n_params(g), n_params(d)) == (g_ref, d_ref) == (9_416_196, 2_415_170)
    assert n_params(BigGANGenerator(attention=False)) == g_ref - attention(c)
    assert g.latent_dim == 80 and g.num_classes == d.num_classes == 10


def test_hierarchical_z_and_shared_embedding_feed_every_block():
    g = BigGANGenerator(latent_dim=20, num_classes=4, shared_dim=6, base_width=4)
    assert g.linear.in_features == 5  # only the first of 4 chunks of z
    cbns = [m for m in g.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(cbns) == 6 and all(m.gain.in_features == m.bias.in_features == 6 + 5 for m in cbns)
    g.eval()
    z, labels = torch.randn(3, 20), torch.tensor([0, 1, 2])
    for chunk in range(4):  # each chunk of z changes the image
        z2 = z.clone()
        z2[:, chunk * 5 : (chunk + 1) * 5] += 1
        assert not torch.allclose(g(z, labels), g(z2, labels))


def test_conditional_generator_honours_its_labels():
    g = BigGANGenerator(latent_dim=16, num_classes=5, shared_dim=8, base_width=8).eval()
    z = torch.randn(1, 16).expand(5, 16)
    per_class = g(z, torch.arange(5))
    assert tuple(per_class.shape) == (5, 3, 32, 32) and per_class.min() >= -1 and per_class.max() <= 1
    assert all(not torch.allclose(per_class[0], per_class[c]) for c in range(1, 5))
    assert torch.allclose(g(z[:2], torch.tensor([3, 3]))[0], per_class[3], atol=1e-6)
    drawn = g(torch.randn(4, 16))  # labels=None draws uniform classes
    assert tuple(drawn.shape) == (4, 3, 32, 32)


def test_projection_discriminator_logit_depends_on_the_label():
    d = BigGANDiscriminator(num_classes=5, base_width=8).eval()
    x = torch.randn(3, 3, 32, 32)
    y1, y2 = torch.tensor([0, 1, 2]), torch.tensor([4, 3, 2])
    with torch.no_grad():
        out = d(x, y1)
        phi = d.phi(x)
        assert tuple(out.shape) == (3,) and tuple(phi.shape) == (3, 16)
        assert torch.allclose(out, d.linear(phi).flatten() + (d.embed(y1) * phi).sum(1), atol=1e-5)
        delta = out - d(x, y2)
        assert torch.allclose(delta, ((d.embed(y1) - d.embed(y2)) * phi).sum(1), atol=1e-4)
    assert delta[2] == 0 and delta[:2].abs().min() > 1e-4


def test_spectral_norm_and_orthogonal_init_are_built_in():
    g, d = BigGANGenerator(base_width=8), BigGANDiscriminator(base_width=8)
    g_layers = [m for m in g.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    d_layers = [m for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    assert all(parametrize.is_parametrized(m, "weight") for m in g_layers + d_layers)
    assert not parametrize.is_parametrized(g.shared)  # StudioGAN leaves G's shared embedding as is
    with torch.no_grad():  # orthogonal init: every normalised weight has all singular values 1
        for m in g_layers + d_layers + [g.shared]:
            s = torch.linalg.svdvals(m.weight.flatten(1))
            assert torch.allclose(s, torch.ones_like(s), atol=1e-3)
        d.linear.parametrizations.weight.original.mul_(10)  # SN divides the raw weight's scale back out
    assert torch.allclose(torch.linalg.matrix_norm(d.linear.weight, 2), torch.tensor(1.0), atol=1e-4)
    a = SelfAttention(16)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(a(x), x)  # sigma starts at 0: attention starts as the identity


def test_hinge_steps_train():
    torch.manual_seed(0)
    g = BigGANGenerator(latent_dim=16, num_classes=10, shared_dim=8, base_width=8)
    d = BigGANDiscriminator(num_classes=10, base_width=8)
    losses = hinge_steps(g, d, labels=torch.arange(8))
    assert all(math.isfinite(v) for pair in losses for v in pair)
    assert len({ld for ld, _ in losses}) == 4 and len({lg for _, lg in losses}) == 4


@pytest.mark.parametrize("resolution", [64, "32"])
def test_resolution_other_than_32_is_one_line(resolution):
    for make in (BigGANGenerator, BigGANDiscriminator):
        with pytest.raises(ConfigError) as err:
            make(resolution=resolution)
        assert str(err.value) == (
            f"data.resolution={resolution!r} is not allowed: use 32 (the BigGAN is the 32x32 CIFAR-10 net)"
        )


@pytest.mark.parametrize(
    "make,named",
    [
        (lambda: BigGANGenerator(latent_dim=0), "model.latent_dim=0 is not allowed"),
        (
            lambda: BigGANGenerator(latent_dim=81),
            "model.latent_dim=81 is not allowed: use a multiple of 4 (z is split into one chunk",
        ),
        (lambda: BigGANGenerator(num_classes=0), "model.generator.num_classes=0 is not allowed"),
        (lambda: BigGANGenerator(shared_dim=0), "model.generator.shared_dim=0 is not allowed"),
        (lambda: BigGANGenerator(base_width=1.5), "model.generator.base_width=1.5 is not allowed"),
        (lambda: BigGANGenerator(channels=0), "model.generator.channels=0 is not allowed"),
        (lambda: BigGANGenerator(attention="yes"), "model.generator.attention='yes' is not allowed"),
        (lambda: BigGANDiscriminator(num_classes=0), "model.discriminator.num_classes=0 is not allowed"),
        (lambda: BigGANDiscriminator(base_width=0), "model.discriminator.base_width=0 is not allowed"),
        (lambda: BigGANDiscriminator(attention=1), "model.discriminator.attention=1 is not allowed"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(make, named):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
