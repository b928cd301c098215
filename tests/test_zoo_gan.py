"""The GAN module with the family's options: labels, DiffAugment, penalty, spectral norm, sample grids."""

from __future__ import annotations

import pytest
import torch

from src.callbacks.samples import SampleGrid
from src.gan import GAN
from src.utils.errors import ConfigError
from tests.helpers import fit_tiny

TINY_G = {"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
COND_G = {
    "_target_": "src.models.ConditionalDCGANGenerator",
    "latent_dim": 8,
    "num_classes": 10,
    "base_width": 4,
}
COND_D = {"_target_": "src.models.ProjectionDiscriminator", "num_classes": 10, "base_width": 4}


class SpyGAN(GAN):
    """Records every (images, labels) pair D is called with, and the batches it trains on."""

    def on_fit_start(self):
        super().on_fit_start()
        self.d_calls, self.batches = [], []

    def training_step(self, batch, batch_idx):
        self.batches.append(batch)
        return super().training_step(batch, batch_idx)

    def _d(self, x, labels=None):
        self.d_calls.append((x.detach().clone(), None if labels is None else labels.clone()))
        return super()._d(x, labels)


fit = fit_tiny  # (model, max_steps[, num_classes]) -> Trainer


def test_conditional_gan_gives_d_the_real_labels_and_uniform_fake_labels():
    torch.manual_seed(0)
    model = SpyGAN(COND_G, COND_D, latent_dim=8)
    assert model.conditional and model.num_classes == 10
    fit(model, max_steps=3)
    assert len(model.d_calls) == 3 * 3  # per batch: D(real), D(fake) in the D step, D(fake) in the G step
    fake_labels = []
    for step, (_, real_labels) in enumerate(model.batches):
        (_, d_real), (_, d_fake), (_, g_fake) = model.d_calls[3 * step : 3 * step + 3]
        assert torch.equal(d_real, real_labels)
        assert torch.equal(d_fake, g_fake)  # the G step judges the fakes with the labels they were made for
        fake_labels.append(d_fake)
    fake_labels = torch.cat(fake_labels)
    assert fake_labels.min() >= 0 and fake_labels.max() < 10 and len(fake_labels.unique()) > 3


def test_unconditional_gan_gives_d_no_labels():
    model = SpyGAN(TINY_G, TINY_D, latent_dim=8)
    assert not model.conditional
    fit(model, max_steps=1)
    assert all(labels is None for _, labels in model.d_calls)


def cutout_squares(images: torch.Tensor) -> torch.Tensor:
    """Per image: pixels where every channel is exactly 0 (cutout's mark). Real pixels never are
    (uint8 -> [-1, 1] skips 0); an untrained tiny G's tanh gives a stray exact 0 now and then."""
    return (images == 0).all(1).flatten(1).sum(1)


@pytest.mark.parametrize("policy", ["cutout", ""])
def test_diffaugment_reaches_real_and_fake_in_d_and_g_steps(policy):
    torch.manual_seed(0)
    model = SpyGAN(TINY_G, TINY_D, latent_dim=8, n_critic=2, diffaugment=policy)
    fit(model, max_steps=2)
    assert len(model.d_calls) == 2 * (2 * 2 + 1)  # two D steps (real + fake each) and one G step, per batch
    erased = torch.stack([cutout_squares(x) for x, _ in model.d_calls])
    if policy:
        assert (erased >= 16).all()  # every image of every call: at least a 4x4 corner of the 16x16 square
    else:
        assert (erased < 16).all()


def test_gradient_penalty_is_added_only_when_weighted(monkeypatch):
    calls = []

    def spy(critic, real, fake, alpha=None):
        calls.append((real.shape, fake.shape))
        return torch.zeros((), requires_grad=True)

    monkeypatch.setattr("src.gan.gradient_penalty", spy)
    fit(GAN(TINY_G, TINY_D, latent_dim=8, loss="wgan_gp", gp_weight=10.0, n_critic=3), max_steps=2)
    assert len(calls) == 2 * 3 and calls[0][0] == (8, 3, 32, 32)
    calls.clear()
    fit(GAN(TINY_G, TINY_D, latent_dim=8, loss="wgan_gp", gp_weight=0.0), max_steps=2)
    assert calls == []


def test_spectral_norm_option_parametrizes_d_only():
    model = GAN(TINY_G, {**TINY_D, "norm": "none"}, latent_dim=8, d_spectral_norm=True)
    is_sn = torch.nn.utils.parametrize.is_parametrized
    d_layers = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert d_layers and all(is_sn(m, "weight") for m in d_layers)
    assert not any(is_sn(m) for m in model.generator.modules())
    assert not any(is_sn(m) for m in GAN(TINY_G, TINY_D, latent_dim=8).discriminator.modules())


def test_generate_takes_a_class_or_one_label_per_code():
    model = GAN(COND_G, COND_D, latent_dim=8).eval()
    z = torch.randn(4, 8)
    assert tuple(model.generate(z, 3).shape) == (4, 3, 32, 32)
    assert torch.equal(model.generate(z, 3), model.generate(z, torch.full((4,), 3)))
    assert not torch.equal(model.generate(z, 3), model.generate(z, 4))
    assert tuple(model.generate(z).shape) == (4, 3, 32, 32)  # classes drawn uniformly
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        model.generate(z, 10)
    plain = GAN(TINY_G, TINY_D, latent_dim=8)
    with pytest.raises(ValueError, match="not class-conditional"):
        plain.generate(z, 1)


def test_mismatched_conditioning_is_refused():
    with pytest.raises(
        ConfigError, match="model.generator.num_classes=10 but model.discriminator.num_classes=0"
    ):
        GAN(COND_G, TINY_D, latent_dim=8)


def test_more_data_classes_than_embeddings_is_refused_before_training():
    small = {**COND_G, "num_classes": 3}
    model = GAN(small, {**COND_D, "num_classes": 3}, latent_dim=8)
    with pytest.raises(ConfigError, match="model.generator.num_classes=3 is less than the data's 10 classes"):
        fit(model, max_steps=1)


def test_conditional_sample_grid_has_one_class_per_row(tmp_path, monkeypatch):
    model = GAN(COND_G, COND_D, latent_dim=8)
    grid = SampleGrid(str(tmp_path), grid_size=12)
    grid.fixed_z = torch.randn(144, 8)
    seen = {}

    def spy(z, labels=None, **kwargs):
        seen["z"], seen["labels"] = z, labels
        return torch.zeros(len(z), 3, 32, 32)

    monkeypatch.setattr(model, "generate", spy)
    grid.generate(model)
    rows = seen["labels"].view(12, 12)
    assert torch.equal(rows, (torch.arange(12) % 10).view(12, 1).expand(12, 12))
    assert seen["z"] is grid.fixed_z
