"""The DDPM module: the loss falls, samples have the interface's shape, range and index stability,
checkpoints name their class and resume exactly, bad values are one line, and the CLIs run on it."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from omegaconf import open_dict

from src.core import signals
from src.core.errors import ConfigError, user_error
from src.diffusion import DDPM
from src.evaluate import kid_subset_size_for
from src.gan import GAN
from src.generate import generate
from src.generative.checkpoint import MODULE_KEY, checkpoint_class, load_module
from src.train import build, fit
from tests.conftest import compose_into
from tests.helpers import fit_tiny, run_module, write_tiny_feature_network

TINY_UNET = {
    "_target_": "src.models.UNet",
    "ch": 16,
    "ch_mult": [1, 2],
    "num_res_blocks": 1,
    "norm_groups": 8,
    "dropout": 0.0,
}
QUIET = ["trainer.enable_progress_bar=false"]
NO_EXTRAS = [  # the smoke run without its image writers: what resume exactness needs is the loop
    "callbacks.samples=null",
    "callbacks.denoising_strip=null",
    "callbacks.sampling_time=null",
    "callbacks.periodic_checkpoint=null",
]


def tiny_ddpm(**kwargs) -> DDPM:
    return DDPM(
        unet=TINY_UNET,
        **{"warmup_steps": 0, "ema": {"decay": 0.9, "warmup": True}, "sample_steps": 5, **kwargs},
    )


def fixed_loss(model: DDPM, images: torch.Tensor) -> float:
    torch.manual_seed(123)  # the same t and noise before and after training
    with torch.no_grad():
        return model.diffusion_loss(images).item()


def test_the_loss_falls_on_a_tiny_data_set():
    from src.data import SyntheticDataModule

    torch.manual_seed(0)
    model = tiny_ddpm(lr=2e-3)
    data = SyntheticDataModule(num_images=32, batch_size=8, hflip=False)
    data.setup("fit")
    images = data.images.float() / 127.5 - 1
    before = fixed_loss(model, images)
    fit_tiny(model, max_steps=60)
    after = fixed_loss(model, images)
    assert before == pytest.approx(1.0, abs=0.1)  # zero-initialised output: MSE of unit noise
    assert after < 0.6 * before


def test_samples_have_the_interfaces_shape_range_and_index_stability():
    torch.manual_seed(0)
    model = tiny_ddpm()
    for p in model.unet.parameters():  # a non-trivial predictor
        torch.nn.init.normal_(p, std=0.05)
    model.unet_ema.load_state_dict(model.unet.state_dict())
    for options in ({"sampler": "ddim", "steps": 5, "eta": 0.0}, {"sampler": "ddim", "steps": 5, "eta": 1.0}):
        images = model.sample(4, seed=7, **options)
        assert images.shape == (4, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
        tail = model.sample(2, seed=7, start=2, **options)  # sample i depends on (seed, i) only
        assert torch.allclose(tail, images[2:], atol=1e-5)
        assert not torch.allclose(model.sample(4, seed=8, **options), images)
    with pytest.raises(ValueError, match="not class-conditional"):
        model.sample(2, labels=3)
    assert model.trajectory(2, frames=5, sampler="ddim", steps=5).shape == (6, 2, 3, 32, 32)


@pytest.mark.parametrize(
    ("override", "start"),
    [
        ("model.sampler=foo", "model.sampler='foo' is unknown: use one of ddpm, ddim"),
        ("model.sample_steps=0", "model.sample_steps=0 is not allowed"),
        ("model.sample_steps=2000", "model.sample_steps=2000 is not allowed: use a whole number in 1..1000"),
        ("model.schedule=quadratic", "model.schedule='quadratic' is unknown"),
        ("model.eta=-1", "model.eta=-1 is not allowed"),
        ("loss=hinge", "model.loss='hinge' is not a DDPM setting (the loss group applies to GANs only"),
        ("model.ema.decay=1.5", "model.ema.decay=1.5 is not allowed"),
    ],
)
def test_bad_values_are_one_line_before_training(tmp_path, override, start):
    cfg = compose_into(tmp_path / "run", "+experiment=ddpm_smoke", override)
    with pytest.raises(Exception) as err:
        build(cfg)
    found = user_error(err.value)
    assert isinstance(found, ConfigError), repr(err.value)
    assert str(found).startswith(start) and "\n" not in str(found)


def test_the_default_loss_group_leaves_gans_as_they_were(tmp_path):
    assert compose_into(tmp_path, "model=dcgan").model.loss == "bce"
    assert "loss" not in compose_into(tmp_path, "model=ddpm").model
    assert compose_into(tmp_path, "loss=hinge").model.loss == "hinge"


class StopAtStep(L.Callback):
    """Requests a stop (as SIGTERM would) after batch `step`: LastCheckpoint saves it and stops."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step == self.step:
            signals.request(signal.SIGTERM)


def test_checkpoints_resume_exactly_and_name_their_class(tmp_path):
    """12 steps in one go, and 3 steps, a stop mid-epoch (8 batches an epoch), a resume to 12: the
    same weights, EMA, Adam state and schedule, bit for bit."""
    runs = {}
    for name in ("straight", "resumed"):
        out = tmp_path / name
        base = ["+experiment=ddpm_smoke", "trainer.max_epochs=-1", "trainer.max_steps=12", *NO_EXTRAS, *QUIET]
        if name == "resumed":
            cfg = compose_into(out, *base)
            with open_dict(cfg):
                cfg.callbacks.stop = {"_target_": f"{__name__}.StopAtStep", "step": 3}
            with pytest.raises(Exception) as err:
                fit(cfg)
            assert type(user_error(err.value)).__name__ == "StopRequested"
            signals.request(None)
            base.append(f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}")
            assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3
        fit(compose_into(out, *base))
        runs[name] = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    a, b = runs["straight"], runs["resumed"]
    assert a["global_step"] == b["global_step"] == 12
    assert a[MODULE_KEY] == "src.diffusion.module.DDPM"
    assert any(k.startswith("unet_ema.") for k in a["state_dict"])
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key
    for state_a, state_b in zip(
        a["optimizer_states"][0]["state"].values(), b["optimizer_states"][0]["state"].values()
    ):
        assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"] == 12
    model = load_module(tmp_path / "straight" / "checkpoints" / "last.ckpt", "cpu")
    assert isinstance(model, DDPM) and not model.training


def test_a_gan_checkpoint_loads_as_a_gan_with_or_without_the_key_and_refuses_sampler_options(tmp_path):
    cfg = compose_into(
        tmp_path / "gan",
        "+experiment=smoke",
        "trainer.max_epochs=-1",
        "trainer.max_steps=2",
        "callbacks.samples=null",
        *QUIET,
    )
    fit(cfg)
    ckpt = tmp_path / "gan" / "checkpoints" / "last.ckpt"
    assert checkpoint_class(ckpt) is GAN
    old = torch.load(ckpt, weights_only=False)
    del old[MODULE_KEY]  # as written before the key existed
    torch.save(old, tmp_path / "old.ckpt")
    assert checkpoint_class(tmp_path / "old.ckpt") is GAN
    gen_cfg = compose_into(None, f"ckpt_path={ckpt}", "sampler=ddim", config_name="generate")
    with pytest.raises(ConfigError, match=r"^sampler='ddim' is not allowed for this GAN checkpoint"):
        generate(gen_cfg)


def test_kid_subset_size_adapts_to_small_evaluations():
    def size(*overrides: str) -> int:
        return kid_subset_size_for(compose_into(None, *overrides, config_name="evaluate"))

    assert size() == 1000  # the standard protocol (50k samples)
    assert size("n_samples=32", "n_real=32") == 16
    assert size("n_samples=5000", "n_real=100") == 50
    assert size("n_samples=32", "kid.subset_size=8") == 8  # a given size is kept (and checked)


@pytest.mark.slow
def test_the_issues_cli_commands_train_generate_and_evaluate(tmp_path):
    """On a clean tree: train ddpm_smoke, generate with DDIM 10 steps, evaluate with 32 samples."""
    run = tmp_path / "run"
    trained = run_module("src.train", "+experiment=ddpm_smoke", f"hydra.run.dir={run}", *QUIET)
    assert trained.returncode == 0, trained.stderr[-2000:]
    ckpt = run / "checkpoints" / "last.ckpt"
    assert ckpt.is_file() and (run / "samples" / "denoising_final_step_0000016.png").is_file()
    out = tmp_path / "gen"
    made = run_module("src.generate", f"ckpt_path={ckpt}", "sampler=ddim", "steps=10", f"out_dir={out}")
    assert made.returncode == 0, made.stderr[-2000:]
    assert (out / "grid.png").is_file() and (out / "interpolation.png").is_file()
    bad = run_module("src.generate", f"ckpt_path={ckpt}", "steps=0", f"out_dir={out}")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith(
        "error: steps=0 is not allowed"
    )
    weights = write_tiny_feature_network(tmp_path / "tiny.pt")
    scored = run_module(
        "src.evaluate",
        f"ckpt_path={ckpt}",
        "data=synthetic",
        "n_samples=32",
        "n_real=32",
        "progress=false",
        f"metrics.weights_path={weights}",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "metrics.allow_download=false",
    )
    assert scored.returncode == 0, scored.stderr[-2000:]
    result = json.loads(scored.stdout.strip().splitlines()[-1])
    assert result["fid"] > 0 and result["protocol"]["sampler"]["sampler"] == "ddim"
    assert Path(ckpt.parent / "metrics.json").is_file()


def test_sampling_time_is_measured_for_each_sampler_of_a_diffusion_model_and_once_for_a_gan(tmp_path):
    from src.callbacks import SamplingTime

    timer = SamplingTime(n_images=2)
    assert set(timer.measure(tiny_ddpm(timesteps=20))) == {
        "perf/sample_s_per_image_ddim20",
        "perf/sample_s_per_image_ddpm20",
    }
    gan = build(compose_into(tmp_path, "+experiment=smoke")).model
    (seconds,) = timer.measure(gan).values()
    assert list(timer.measure(gan)) == ["perf/sample_s_per_image"] and seconds > 0


def test_a_diffusion_run_shorter_than_log_every_n_steps_has_a_loss_curve(tmp_path):
    """As for the GANs (src/generative/log_points.py): first step, each epoch's last batch, the last step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from src.train import fit
    from tests.conftest import compose_into

    cfg = compose_into(
        tmp_path / "run",
        "+experiment=ddpm_smoke",
        "trainer.log_every_n_steps=50",
        "trainer.max_steps=11",  # 8 batches an epoch
        "trainer.enable_progress_bar=false",
        "callbacks.samples=null",
        "callbacks.denoising_strip=null",
        "callbacks.sampling_time=null",
    )
    trainer = fit(cfg)
    events = EventAccumulator(str(tmp_path / "run"))
    events.Reload()
    assert [e.step for e in events.Scalars("loss/mse")] == [0, 7, 10]
    assert "loss/mse" in trainer.progress_bar_metrics
