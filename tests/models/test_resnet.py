"""The SNGAN ResNet nets (src/models/resnet.py): reference sizes and init, shapes, hinge steps with SN."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from src.core.errors import ConfigError
from src.gan.spectral_norm import apply_spectral_norm
from src.models.resnet import DownBlock, SNGANDiscriminator, SNGANGenerator, UpBlock
from tests.helpers import hinge_steps


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out  # weight + bias


def test_parameter_counts_match_the_reference_nets():
    """Counted layer by layer from the reference code, at its defaults (z 128, G 256 ch, D 128 ch):
    pfnet-research/sngan_projection gen_models/resnet_32.py + dis_models/snresnet_32.py, the same layers
    as kwotsin/mimicry torch_mimicry/nets/sngan/sngan_32.py (ResNetGenerator32/ResNetDiscriminator32).
    Neither the paper nor those repositories print a count; G's 4,276,739 is the "4.3M" usually quoted,
    D has 1,053,825 (1.05M; Chainer's logit layer has no bias: 1,053,824)."""
    ch_g, ch_d, z = 256, 128, 128
    g_block = 2 * (2 * ch_g) + 2 * conv(ch_g, ch_g, 3) + conv(ch_g, ch_g, 1)  # 2 BN, 2 conv3x3, 1x1 shortcut
    g_ref = (z * ch_g * 16 + ch_g * 16) + 3 * g_block + 2 * ch_g + conv(ch_g, 3, 3)
    d_ref = (
        conv(3, ch_d, 3) + conv(ch_d, ch_d, 3) + conv(3, ch_d, 1)  # optimized block
        + 2 * conv(ch_d, ch_d, 3) + conv(ch_d, ch_d, 1)  # down-sampling block (learnt shortcut)
        + 2 * 2 * conv(ch_d, ch_d, 3)  # two blocks with identity shortcuts
        + ch_d + 1  # linear to the logit
    )  # fmt: skip
    g, d = SNGANGenerator(), SNGANDiscriminator()
    assert (n_params(g), n_params(d)) == (g_ref, d_ref) == (4_276_739, 1_053_825)
    assert round(n_params(g) / 1e6, 1) == 4.3


def test_shapes_range_and_layout():
    g = SNGANGenerator(latent_dim=16, base_width=16)
    d = SNGANDiscriminator(base_width=16)
    x = g(torch.randn(5, 16))
    assert tuple(x.shape) == (5, 3, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert tuple(d(x).shape) == (5,) and tuple(d.features(x).shape) == (5, 16)
    assert len([m for m in g.modules() if isinstance(m, UpBlock)]) == 3
    blocks = list(d.blocks)
    assert [b.optimized for b in blocks] == [True, False, False, False]
    assert [b.downsample for b in blocks] == [True, True, False, False]
    assert [b.shortcut is not None for b in blocks] == [True, True, False, False]
    assert not any(parametrize.is_parametrized(m) for m in d.modules())  # SN is the GAN module's job
    grey = SNGANGenerator(latent_dim=8, base_width=8, channels=1)
    assert tuple(grey(torch.randn(2, 8)).shape) == (2, 1, 32, 32)


def test_xavier_initialisation_of_the_reference():
    """xavier_uniform: gain sqrt(2) on residual 3x3 convs, 1 on shortcuts and linear layers; zero biases."""

    def bound(layer: nn.Module, gain: float) -> float:
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        return gain * math.sqrt(6.0 / (fan_in + fan_out))

    g, d = SNGANGenerator(latent_dim=32, base_width=32), SNGANDiscriminator(base_width=32)
    blocks = [m for m in [*g.modules(), *d.modules()] if isinstance(m, (UpBlock, DownBlock))]
    pairs = [(b.conv1, math.sqrt(2)) for b in blocks] + [(b.conv2, math.sqrt(2)) for b in blocks]
    pairs += [(b.shortcut, 1.0) for b in blocks if b.shortcut is not None]
    pairs += [(g.linear, 1.0), (g.to_rgb, 1.0), (d.linear, 1.0)]
    for layer, gain in pairs:
        limit = bound(layer, gain)  # U(-limit, limit) has std limit / sqrt(3)
        assert layer.weight.abs().max() <= limit and torch.count_nonzero(layer.bias) == 0
        if layer.weight.numel() >= 1000:  # enough draws to tell gain sqrt(2) from 1 by the spread
            assert abs(layer.weight.std().item() * math.sqrt(3) / limit - 1) < 0.1


def test_hinge_steps_with_spectral_norm_train():
    torch.manual_seed(0)
    g = SNGANGenerator(latent_dim=16, base_width=16)
    d = apply_spectral_norm(SNGANDiscriminator(base_width=16))  # what model.d_spectral_norm=true does
    assert all(parametrize.is_parametrized(m) for m in d.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))
    losses = hinge_steps(g, d)
    assert all(math.isfinite(v) for pair in losses for v in pair)
    assert len({ld for ld, _ in losses}) == 4 and len({lg for _, lg in losses}) == 4


@pytest.mark.parametrize("resolution", [64, 16, "32", 32.0])
def test_resolution_other_than_32_is_one_line(resolution):
    for make in (SNGANGenerator, SNGANDiscriminator):
        with pytest.raises(ConfigError) as err:
            make(resolution=resolution)
        allowed = "use 32 (the SNGAN ResNet is the 32x32 CIFAR-10 net)"
        assert str(err.value) == f"data.resolution={resolution!r} is not allowed: {allowed}"


@pytest.mark.parametrize(
    "make,named",
    [
        (lambda: SNGANGenerator(latent_dim=0), "model.latent_dim=0 is not allowed"),
        (lambda: SNGANGenerator(base_width=2.5), "model.generator.base_width=2.5 is not allowed"),
        (lambda: SNGANGenerator(channels=0), "model.generator.channels=0 is not allowed"),
        (lambda: SNGANDiscriminator(base_width=True), "model.discriminator.base_width=True is not allowed"),
        (lambda: SNGANDiscriminator(channels=-3), "model.discriminator.channels=-3 is not allowed"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(make, named):
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
