from __future__ import annotations

import warnings

import lightning as L
import pytest
import torch

from src import perf
from src.data import SyntheticDataModule
from src.gan import GAN
from src.perf import CompiledOrEager, compile_problem
from tests.helpers import fit_tiny

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


fit = fit_tiny  # (model, max_steps[, num_classes]) -> Trainer


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


# --- speed knobs (src/perf.py, conf/perf/fast.yaml): they must change how G and D run, not what is learned


class LayoutRecordingGAN(GAN):
    """Remembers whether each real batch reached the D step in channels_last layout."""

    def on_fit_start(self):
        self.batches_channels_last = []

    def _discriminator_step(self, opt, real, *args, **kwargs):
        self.batches_channels_last.append(real.is_contiguous(memory_format=torch.channels_last))
        return super()._discriminator_step(opt, real, *args, **kwargs)


KNOB_STEPS = 5


def fit_seeded(seed: int = 0, **knobs) -> tuple[LayoutRecordingGAN, L.Trainer]:
    """Same seed, data and steps; only `knobs` differ (log every step, so the losses are inspectable)."""
    L.seed_everything(seed, verbose=False)
    model = LayoutRecordingGAN(TINY_G, TINY_D, latent_dim=8, **knobs)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=KNOB_STEPS,
        log_every_n_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=32, batch_size=8))
    return model, trainer


def conv_weights(model: GAN) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.ndim == 4]


def max_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    pairs = zip(a.state_dict().values(), b.state_dict().values())
    return max((x.double() - y.double()).abs().max().item() for x, y in pairs)


# The fast knobs only change the order of float32 sums (channels_last picks other convolution kernels,
# foreach Adam batches the same element-wise update, inductor fuses ops), about 1e-7 relative per op;
# measured after 5 steps: 1.2e-7 (1 ulp of weights near 1). 1e-5 leaves 80x margin and is still 1/20 of
# one Adam step (lr = 2e-4): a real change of the computation moves weights further, e.g. lr +10% moves
# them by 9e-4 in these 5 steps (checked below, so that the tolerance is known to have teeth).
SAME_TRAINING_ATOL = 1e-5


def test_default_run_keeps_pytorchs_adam_and_memory_layout():
    model, trainer = fit_seeded()
    for opt in trainer.optimizers:
        assert opt.param_groups[0]["foreach"] is None and opt.param_groups[0]["fused"] is None
    assert all(w.is_contiguous() for w in conv_weights(model))
    assert not any(model.batches_channels_last)
    assert model._nets == {}


def test_channels_last_and_foreach_adam_learn_the_same_parameters():
    reference, _ = fit_seeded()
    fast, trainer = fit_seeded(channels_last=True, fused_adam=True)
    # the knobs really were on (fused Adam is CUDA-only: on CPU fused_adam=true means foreach)
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(fast))
    assert fast.batches_channels_last == [True] * KNOB_STEPS
    assert all(opt.param_groups[0]["foreach"] is True for opt in trainer.optimizers)

    assert max_difference(fast, reference) <= SAME_TRAINING_ATOL
    other_lr, _ = fit_seeded(lr_g=2.2e-4, lr_d=2.2e-4)
    assert max_difference(other_lr, reference) > 10 * SAME_TRAINING_ATOL


def test_compiled_g_and_d_train_with_finite_losses_and_learn_the_same():
    problem = compile_problem("cpu")
    if problem is not None:
        pytest.skip(f"torch.compile does not work on this machine: {problem}")
    reference, _ = fit_seeded()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled, trainer = fit_seeded(compile=True)
    assert not [w for w in caught if "training eagerly" in str(w.message)]  # no fallback to eager
    nets = compiled._nets
    assert all(isinstance(nets[n], CompiledOrEager) and nets[n].compiled is not None for n in nets)
    assert set(nets) == {"generator", "discriminator"}
    losses = [trainer.callback_metrics[k] for k in ("loss/d", "loss/g")]
    assert all(torch.isfinite(v) for v in losses)
    assert all(
        k.startswith(("generator.", "generator_ema.", "discriminator.")) for k in compiled.state_dict()
    )
    assert max_difference(compiled, reference) <= SAME_TRAINING_ATOL


def test_compile_that_cannot_run_trains_eagerly_after_one_warning(monkeypatch):
    monkeypatch.setattr(perf, "compile_problem", lambda device: "InvalidCxxCompiler: no C++ compiler")
    monkeypatch.setattr(perf, "_eager_warning_given", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, trainer = fit_seeded(compile=True)
    eager = [w for w in caught if "training eagerly" in str(w.message)]
    assert len(eager) == 1 and "InvalidCxxCompiler" in str(eager[0].message)
    assert model._nets == {"generator": model.generator, "discriminator": model.discriminator}
    assert trainer.global_step == KNOB_STEPS
