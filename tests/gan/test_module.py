"""The GAN LightningModule: D and G steps, step counting, optimisers, the family's options (labels,
DiffAugment, gradient penalty, spectral norm) and the sampling interface everything else uses."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from src.core.errors import ConfigError
from src.gan import GAN
from tests.helpers import fit_tiny

TINY_G = {"_target_": "src.models.DCGANGenerator", "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
COND_G = {"_target_": "src.models.ConditionalDCGANGenerator", "num_classes": 10, "base_width": 4}
COND_D = {"_target_": "src.models.ProjectionDiscriminator", "num_classes": 10, "base_width": 4}
ADAM = {"_target_": "torch.optim.Adam"}

fit = fit_tiny  # (model, max_steps[, num_classes]) -> Trainer


def params(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.detach().clone() for k, p in module.named_parameters()}


class StepRecorder(L.Callback):
    """Snapshots both networks at the start and after every optimizer step (torch's step hooks), and
    records every (images, labels) call of D (a forward pre-hook) and every batch trained on."""

    def on_train_start(self, trainer, gan):
        self.snapshots = [("init", params(gan.generator), params(gan.discriminator))]
        self.d_calls, self.batches = [], []
        for kind, opt in zip("gd", trainer.optimizers):  # configure_optimizers returns [G's, D's]
            opt.register_step_post_hook(
                lambda *_, kind=kind: self.snapshots.append(
                    (kind, params(gan.generator), params(gan.discriminator))
                )
            )

        def record(module, args):
            x, labels = args[0], args[1] if len(args) > 1 else None
            self.d_calls.append((x.detach().clone(), None if labels is None else labels.clone()))

        gan.discriminator.register_forward_pre_hook(record)

    def on_train_batch_start(self, trainer, gan, batch, batch_idx):
        self.batches.append(batch)


def recorded(model: GAN, max_steps: int) -> StepRecorder:
    recorder = StepRecorder()
    fit(model, max_steps=max_steps, callbacks=[recorder])
    return recorder


# --- the steps


def test_d_step_moves_only_d_and_g_step_moves_only_g():
    model = GAN(TINY_G, TINY_D, latent_dim=8)
    (_, g0, d0), (kind_d, g1, d1), (kind_g, g2, d2) = recorded(model, max_steps=1).snapshots
    assert (kind_d, kind_g) == ("d", "g")
    all_d, all_g = set(d0), set(g0)
    assert {k for k in all_d if not torch.equal(d0[k], d1[k])} == all_d  # D step: every D weight moves
    assert all(torch.equal(g0[k], g1[k]) for k in all_g)  # ... and no G weight
    assert {k for k in all_g if not torch.equal(g1[k], g2[k])} == all_g  # G step: every G weight moves
    assert all(torch.equal(d1[k], d2[k]) for k in all_d)  # ... and no D weight


@pytest.mark.parametrize("n_critic", [1, 3])
def test_global_step_counts_batches_and_n_critic_d_steps(n_critic):
    model = GAN(TINY_G, TINY_D, latent_dim=8, n_critic=n_critic)
    recorder = recorded(model, max_steps=5)
    assert model.trainer.global_step == 5  # D's steps go through the strategy: only G's step counts
    kinds = [k for k, _, _ in recorder.snapshots[1:]]
    assert kinds == (["d"] * n_critic + ["g"]) * 5


def test_learning_rates_scale_and_betas_reach_adam():
    adam = {"_target_": "torch.optim.Adam", "betas": (0.1, 0.9)}
    model = GAN(TINY_G, TINY_D, latent_dim=8, lr_g=1e-3, lr_d=3e-4, optimizer=adam)
    opt_g, opt_d = model.configure_optimizers()
    assert opt_g.param_groups[0]["lr"] == 1e-3 and opt_d.param_groups[0]["lr"] == 3e-4
    assert opt_g.param_groups[0]["betas"] == (0.1, 0.9)
    assert {id(p) for p in opt_g.param_groups[0]["params"]} == {id(p) for p in model.generator.parameters()}
    assert {id(p) for p in opt_d.param_groups[0]["params"]} == {
        id(p) for p in model.discriminator.parameters()
    }
    half = GAN(TINY_G, TINY_D, lr_g=1e-3, lr_d=3e-4, lr_scale=0.5)
    assert half.learning_rates == (5e-4, 1.5e-4)
    assert [o.param_groups[0]["lr"] for o in half.configure_optimizers()] == [5e-4, 1.5e-4]


def test_latent_dim_is_the_one_the_generator_is_built_with():
    assert GAN(TINY_G, TINY_D).generator.latent_dim == 100  # the default
    model = GAN(TINY_G, TINY_D, latent_dim=16)
    assert model.latent_dim == model.generator.latent_dim == 16 and model.noise(3)[0].shape == (3, 16)


def test_update_ema_counts_images_not_steps():
    """Two batches of 64 move the EMA as far as one batch of 128: the half-life is in images."""
    ema_after = []
    for batches in ([64, 64], [128]):
        torch.manual_seed(0)
        model = GAN(TINY_G, TINY_D, ema={"kimg": 0.128, "rampup": None})  # half-life: 128 images
        with torch.no_grad():
            for p in model.generator.parameters():
                p.add_(1.0)
        for batch in batches:
            model.update_ema(batch)
        ema_after.append(params(model.generator_ema))
    assert all(torch.allclose(ema_after[0][k], ema_after[1][k], atol=1e-6) for k in ema_after[0])
    # one half-life of images: the EMA is half way between its start and G (G moved by exactly 1)
    torch.manual_seed(0)
    fresh = GAN(TINY_G, TINY_D, ema={"kimg": 0.128, "rampup": None})
    for k, p in params(fresh.generator_ema).items():
        assert torch.allclose(ema_after[1][k], p + 0.5, atol=1e-6)


# --- the family's options


def test_conditional_gan_gives_d_the_real_labels_and_uniform_fake_labels():
    torch.manual_seed(0)
    model = GAN(COND_G, COND_D, latent_dim=8)
    assert model.conditional and model.num_classes == 10
    spy = recorded(model, max_steps=3)
    assert len(spy.d_calls) == 3 * 3  # per batch: D(real), D(fake) in the D step, D(fake) in the G step
    fake_labels = []
    for step, (_, real_labels) in enumerate(spy.batches):
        (_, d_real), (_, d_fake), (_, g_fake) = spy.d_calls[3 * step : 3 * step + 3]
        assert torch.equal(d_real, real_labels)
        assert torch.equal(d_fake, g_fake)  # the G step judges the fakes with the labels they were made for
        fake_labels.append(d_fake)
    fake_labels = torch.cat(fake_labels)
    assert fake_labels.min() >= 0 and fake_labels.max() < 10 and len(fake_labels.unique()) > 3


def test_unconditional_gan_gives_d_no_labels():
    model = GAN(TINY_G, TINY_D, latent_dim=8)
    assert not model.conditional
    spy = recorded(model, max_steps=1)
    assert spy.d_calls and all(labels is None for _, labels in spy.d_calls)


def cutout_squares(images: torch.Tensor) -> torch.Tensor:
    """Per image: pixels where every channel is exactly 0 (cutout's mark). Real pixels never are
    (uint8 -> [-1, 1] skips 0); an untrained tiny G's tanh gives a stray exact 0 now and then."""
    return (images == 0).all(1).flatten(1).sum(1)


@pytest.mark.parametrize("policy", ["cutout", ""])
def test_diffaugment_reaches_real_and_fake_in_d_and_g_steps(policy):
    torch.manual_seed(0)
    model = GAN(TINY_G, TINY_D, latent_dim=8, n_critic=2, diffaugment=policy)
    spy = recorded(model, max_steps=2)
    assert len(spy.d_calls) == 2 * (2 * 2 + 1)  # two D steps (real + fake each) and one G step, per batch
    erased = torch.stack([cutout_squares(x) for x, _ in spy.d_calls])
    if policy:
        assert (erased >= 16).all()  # every image of every call: at least a 4x4 corner of the 16x16 square
    else:
        assert (erased < 16).all()


def test_gradient_penalty_is_added_only_when_weighted(monkeypatch):
    calls = []

    def spy(critic, real, fake, alpha=None):
        calls.append((real.shape, fake.shape))
        return torch.zeros((), requires_grad=True)

    monkeypatch.setattr("src.gan.module.gradient_penalty", spy)
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


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"lr_g": 0}, "model.lr_g=0 is not allowed"),
        ({"lr_scale": -1}, "model.lr_scale=-1 is not allowed"),
        (
            {"optimizer": {"_target_": "torch.optim.Adam", "betas": (0.5,)}},
            "model.optimizer.betas=[0.5] is not",
        ),
        (
            {"optimizer": {"_target_": "torch.optim.Adam", "betas": (0.5, 1.0)}},
            "model.optimizer.betas=1.0 is not",
        ),
        (
            {"optimizer": {"_target_": "torch.optim.Adam", "eps": -1}},
            "model.optimizer={'eps': -1} is not allowed",
        ),
        (
            {"optimizer": {"_target_": "torch.optim.Adamm"}},
            "model.optimizer._target_='torch.optim.Adamm' is not",
        ),
        ({"n_critic": 0}, "model.n_critic=0 is not allowed"),
        ({"gp_weight": -1}, "model.gp_weight=-1 is not allowed"),
        ({"d_spectral_norm": "yes"}, "model.d_spectral_norm='yes' is not allowed"),
        ({"loss": "nope"}, "model.loss='nope' is unknown"),
        ({"diffaugment": "zoom"}, "model.diffaugment='zoom' has unknown 'zoom'"),
        ({"speed": {"compile_mode": "fastest"}}, "model.speed.compile_mode='fastest' is unknown"),
        ({"speed": {"compile": 1}}, "model.speed.compile=1 is not allowed"),
        ({"speed": {"turbo": True}}, "model.speed.turbo is unknown"),
    ],
)
def test_bad_arguments_are_one_line_naming_the_key(kwargs, named):
    with pytest.raises(ConfigError) as err:
        GAN(TINY_G, TINY_D, **kwargs)
    message = str(err.value)
    assert message.startswith(named) and "use" in message and "\n" not in message


# --- sampling: what grids, metrics, generate and evaluate call


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
    with pytest.raises(ValueError, match="not class-conditional"):
        plain.sample(4, labels=1)


def test_sample_picks_the_ema_or_raw_generator_and_its_mode_and_leaves_both_as_they_were():
    torch.manual_seed(0)
    model = GAN(TINY_G, TINY_D)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(0.05 * torch.randn_like(p))  # G moves on; its EMA copy has not followed yet
    z = model.latent_codes(6, seed=2)
    assert torch.equal(model.sample(6, seed=2), model.generate(z))
    raw = model.sample(6, seed=2, ema=False)
    assert torch.equal(raw, model.generate(z, ema=False)) and not torch.equal(raw, model.sample(6, seed=2))
    # train mode normalises by the batch's own statistics, eval mode by the running ones
    assert not torch.allclose(model.sample(6, seed=2, ema=False, eval_mode=False), raw)
    assert model.generator.training and model.generator_ema.training  # modes restored
    off = GAN(TINY_G, TINY_D, ema=None)
    assert off.generator_ema is None and torch.equal(off.sample(3), off.sample(3, ema=False))


def test_a_run_shorter_than_log_every_n_steps_has_curves_and_a_progress_bar(tmp_path):
    """log_every_n_steps=50 with 8 steps an epoch: the losses still reach TensorBoard at the first step,
    each epoch's last batch and the last step (max_steps mid-epoch), and the bar shows them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from src.train import fit
    from tests.conftest import compose_into

    cfg = compose_into(
        tmp_path / "run",
        "+experiment=smoke",
        "trainer.log_every_n_steps=50",
        "trainer.max_steps=13",
        "trainer.enable_progress_bar=false",
    )
    trainer = fit(cfg)
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    for tag in ("loss/d", "loss/g", "D(x)", "D(G(z))"):
        assert [e.step for e in events.Scalars(tag)] == [0, 7, 12]
    # the bar shows the two losses only: with D's readouts it wrapped onto four lines at 80 columns
    assert set(trainer.progress_bar_metrics) == {"loss/d", "loss/g"}
