from __future__ import annotations

import lightning as L
import pytest
import torch

from src.data import SyntheticDataModule
from src.gan import GAN

TINY_G = {"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in module.named_parameters()}


def changed(before: dict, module: torch.nn.Module) -> set[str]:
    return {k for k, p in module.named_parameters() if not torch.equal(before[k], p)}


class RecordingGAN(GAN):
    """Snapshots both networks after each D step and after the G step."""

    def on_fit_start(self):
        self.snapshots = [("init", params(self.generator), params(self.discriminator))]

    def _discriminator_step(self, *args, **kwargs):
        out = super()._discriminator_step(*args, **kwargs)
        self.snapshots.append(("d", params(self.generator), params(self.discriminator)))
        return out

    def _generator_step(self, *args, **kwargs):
        out = super()._generator_step(*args, **kwargs)
        self.snapshots.append(("g", params(self.generator), params(self.discriminator)))
        return out


def fit(model: GAN, max_steps: int) -> L.Trainer:
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=32, batch_size=8))
    return trainer


def test_d_step_moves_only_d_and_g_step_moves_only_g():
    model = RecordingGAN(TINY_G, TINY_D, latent_dim=8)
    fit(model, max_steps=1)
    (_, g0, d0), (kind_d, g1, d1), (kind_g, g2, d2) = model.snapshots
    assert (kind_d, kind_g) == ("d", "g")
    all_d, all_g = set(d0), set(g0)
    assert {k for k in all_d if not torch.equal(d0[k], d1[k])} == all_d  # D step: every D weight moves
    assert all(torch.equal(g0[k], g1[k]) for k in all_g)  # ... and no G weight
    assert {k for k in all_g if not torch.equal(g1[k], g2[k])} == all_g  # G step: every G weight moves
    assert all(torch.equal(d1[k], d2[k]) for k in all_d)  # ... and no D weight


@pytest.mark.parametrize("n_critic", [1, 3])
def test_global_step_counts_batches_and_n_critic_d_steps(n_critic):
    model = RecordingGAN(TINY_G, TINY_D, latent_dim=8, n_critic=n_critic)
    trainer = fit(model, max_steps=5)
    assert trainer.global_step == 5
    kinds = [k for k, _, _ in model.snapshots[1:]]
    assert kinds == (["d"] * n_critic + ["g"]) * 5


def test_learning_rates_and_betas_reach_adam():
    model = GAN(TINY_G, TINY_D, latent_dim=8, lr_g=1e-3, lr_d=3e-4, betas=(0.1, 0.9))
    opt_g, opt_d = model.configure_optimizers()
    assert opt_g.param_groups[0]["lr"] == 1e-3 and opt_d.param_groups[0]["lr"] == 3e-4
    assert opt_g.param_groups[0]["betas"] == (0.1, 0.9)
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {id(p) for p in model.generator.parameters()}
