"""EMA of G counted in images: the half-life is a number of images, whatever the batch size."""

from __future__ import annotations

import math

import pytest
import torch

from src.core.errors import ConfigError
from src.gan import GAN
from src.generative.ema import image_decay, update_ema_
from tests.helpers import fit_tiny


def test_decay_halves_the_weight_of_the_past_after_one_half_life_of_images():
    seen = 10**9  # far past the ramp-up
    for batch in (32, 64, 128):
        steps = 10_000 // batch  # 10 kimg in whole batches
        weight = image_decay(seen, batch, kimg=10.0, rampup=0.05) ** steps
        assert weight == pytest.approx(0.5 ** (steps * batch / 10_000))
    # a batch twice as large, half as many steps: the same average over images
    assert image_decay(seen, 128, 10.0, None) == pytest.approx(image_decay(seen, 64, 10.0, None) ** 2)


def test_ramp_up_caps_the_half_life_at_a_share_of_the_images_seen():
    assert image_decay(0, 64, 10.0, 0.05) == 0.0  # first step: a plain copy
    early = image_decay(20_000, 64, 10.0, 0.05)  # half-life 1,000 images, not 10,000
    assert early == pytest.approx(0.5 ** (64 / 1000))
    assert image_decay(20_000, 64, 10.0, None) == pytest.approx(0.5 ** (64 / 10_000))
    assert image_decay(10**7, 64, 10.0, 0.05) == image_decay(10**7, 64, 10.0, None)


def test_update_is_a_lerp_of_weights_and_a_copy_of_buffers():
    net, ema = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        net.weight.fill_(1.0), ema.weight.fill_(0.0)
        net.running_mean.fill_(7.0)
    update_ema_(ema, net, decay=0.75)
    assert torch.allclose(ema.weight, torch.full((3,), 0.25))
    assert torch.equal(ema.running_mean, net.running_mean)


def tiny(**kwargs) -> GAN:
    return GAN(
        generator={"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4},
        discriminator={"_target_": "src.models.DCGANDiscriminator", "base_width": 4},
        **kwargs,
    )


def test_training_moves_the_ema_by_the_images_formula():
    torch.manual_seed(0)
    model = tiny(ema={"kimg": 0.05, "rampup": None})  # half-life 50 images: visible after 3 steps of 8
    before = [p.detach().clone() for p in model.generator_ema.parameters()]
    fit_tiny(model, max_steps=3)
    ema, raw = list(model.generator_ema.parameters()), list(model.generator.parameters())
    assert not all(torch.equal(a, b) for a, b in zip(before, ema))  # it moved
    assert not all(torch.equal(a, b) for a, b in zip(ema, raw))  # but lags G
    assert math.isclose(image_decay(16, 8, 0.05, None), 0.5 ** (8 / 50))


def test_ema_off_and_bad_values():
    assert tiny(ema=None).generator_ema is None
    for kwargs, named in (
        ({"ema": {"kimg": 0}}, "model.ema.kimg=0"),
        ({"ema": {"kimg": 10, "rampup": -1}}, "model.ema.rampup=-1"),
    ):
        with pytest.raises(ConfigError, match=named):
            tiny(**kwargs)


def test_the_ema_net_samples_with_batchnorm_statistics_of_its_own_activations():
    """Copied from the raw net, the running statistics describe another net's activations; with
    `norm_samples` the EMA net measures its own (on fixed codes, without touching the global random
    stream), once per step, before it samples in eval mode."""
    torch.manual_seed(0)
    tiny = {"_target_": "src.models.DCGANGenerator", "base_width": 4}
    model = GAN(tiny, {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}, latent_dim=8,
                ema={"kimg": 10.0, "rampup": None, "norm_samples": 64})  # fmt: skip
    with torch.no_grad():
        for p in model.generator_ema.parameters():
            p.add_(0.5 * torch.randn_like(p))  # the average differs from G ...
    update_ema_(model.generator_ema, model.generator, decay=1.0)  # ... and holds G's statistics
    bn = next(m for m in model.generator_ema.modules() if isinstance(m, torch.nn.BatchNorm2d))
    copied = bn.running_mean.clone()
    inputs = []
    bn.register_forward_pre_hook(lambda m, args: inputs.append(args[0].detach()))
    state = torch.get_rng_state()
    model.sample(8, seed=3)  # eval mode, EMA net: measures first
    assert torch.equal(torch.get_rng_state(), state)  # the training stream is untouched
    measured = torch.cat(inputs[:-1])  # the 64 fixed codes' activations (the last call: the sample itself)
    assert len(measured) == 64 and not torch.allclose(bn.running_mean, copied)
    assert torch.allclose(bn.running_mean, measured.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_var, measured.var((0, 2, 3), unbiased=True), atol=1e-4)
    inputs.clear()
    model.sample(8, seed=4)
    assert len(inputs) == 1  # measured once for this step: the next sample only samples
    off = GAN(tiny, {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}, latent_dim=8)
    before = [b.clone() for b in off.generator_ema.buffers()]
    off.sample(8)
    assert all(torch.equal(a, b) for a, b in zip(before, off.generator_ema.buffers()))  # norm_samples 0
