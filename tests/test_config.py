"""Composing conf/: every experiment, model x loss, preset and sweep; what each changes; and the
one-line errors that building a run from a bad value gives (each component checks its own values)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException
from omegaconf import open_dict

from src.core.errors import ConfigError
from src.gan.losses import LOSSES
from src.run import resolvers
from src.run.config_checks import validate_config
from src.run.errors import one_line_error
from src.train import build
from tests.helpers import CONFIG_DIR

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))
COURSE = [
    "lr_half",
    "latent_dim_50",
    "latent_dim_128",
    "latent_dim_256",
    "batch_128",
    "epochs_100",
    "dcgan_64px",
    "smoke",
]
GENERATORS = {
    "dcgan": "DCGANGenerator",
    "mlp_gan": "MLPGenerator",
    "cdcgan": "ConditionalDCGANGenerator",
    "sngan_resnet": "SNGANGenerator",
    "biggan": "BigGANGenerator",
}


def sweeper_params(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    return dict(cfg.hydra.sweeper.params)


def build_error(cfg) -> ConfigError:
    """The one-line error the entry point prints for what building `cfg` raises (src/run/errors.py)."""
    with pytest.raises(Exception) as err:
        build(cfg)
    found = one_line_error(err.value)
    assert isinstance(found, ConfigError), f"not a user error: {err.value!r}"
    return found


# --- experiments and presets


def test_course_experiments_exist():
    assert set(COURSE) <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_builds(compose_cfg, name):
    cfg = compose_cfg(f"+experiment={name}")
    datamodule, model, *_ = build(cfg)
    assert cfg.task_name == name
    images = model.sample(2)
    assert tuple(images.shape) == (2, 3, cfg.data.resolution, cfg.data.resolution)
    assert datamodule.batch_size == cfg.data.batch_size
    if "latent_dim" in cfg.model:  # a GAN; a diffusion model's "code" is x_T, an image
        assert model.latent_dim == cfg.model.latent_dim


def test_experiments_change_what_they_say(compose_cfg):
    base = build(compose_cfg()).model
    half = build(compose_cfg("+experiment=lr_half")).model
    assert half.learning_rates == (base.learning_rates[0] / 2, base.learning_rates[1] / 2)
    wgan_half = build(compose_cfg("+experiment=lr_half", "loss=wgan_gp")).model  # whatever the rates are
    assert wgan_half.learning_rates == (wgan_half.hparams.lr_g / 2, wgan_half.hparams.lr_d / 2)
    assert (
        build(compose_cfg("+experiment=latent_dim_256")).model.generator.latent_dim == 256
    )  # G is built with it
    assert compose_cfg("+experiment=batch_128").data.batch_size == 128
    assert compose_cfg("+experiment=epochs_100").trainer.max_epochs == 100
    assert compose_cfg("+experiment=dcgan_64px").model.discriminator.resolution == 64


def test_default_is_the_dcgan_with_bce_and_nothing_added(compose_cfg):
    model = compose_cfg().model
    assert model.loss == "bce" and model.gp_weight == 0 and model.n_critic == 1
    assert not model.d_spectral_norm and model.diffaugment == "" and model.discriminator.norm == "batch"
    assert (model.ema.kimg, model.ema.rampup, model.lr_scale) == (10.0, 0.05, 1.0)


@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("model", sorted(GENERATORS))
def test_every_model_builds_with_every_loss_and_uses_it(compose_cfg, model, loss):
    built = build(compose_cfg(f"model={model}", f"loss={loss}")).model
    assert built.loss is LOSSES[loss]  # the loss named is the one trained with
    assert type(built.generator).__name__ == GENERATORS[model]


def test_wgan_gp_group_sets_the_papers_settings(compose_cfg):
    model = compose_cfg("loss=wgan_gp").model
    assert (model.gp_weight, model.n_critic, list(model.optimizer.betas)) == (10.0, 5, [0.0, 0.9])
    assert model.discriminator.norm == "none"


def test_presets_change_what_they_say(compose_cfg):
    sngan = compose_cfg("+experiment=sngan").model
    assert sngan.loss == "hinge" and sngan.d_spectral_norm and sngan.n_critic == 5
    assert sngan.discriminator.norm == "none"
    assert compose_cfg("+experiment=cdcgan").model.generator.num_classes == 10
    assert compose_cfg("+experiment=wgan_gp").model.loss == "wgan_gp"
    for pct, fraction in [("10", 0.1), ("20", 0.2)]:
        cfg = compose_cfg(f"+experiment=diffaugment_{pct}pct")
        assert cfg.data.fraction == fraction and cfg.model.diffaugment == "color,translation,cutout"


@pytest.mark.parametrize("sweep", ["course", "grid"])
def test_sweep_presets_compose(sweep):
    params = sweeper_params(f"+sweep={sweep}")
    assert len(params) >= 1
    if sweep == "course":
        jobs = params["+experiment"].split(",")
        assert all((CONFIG_DIR / "experiment" / f"{j}.yaml").is_file() for j in jobs)
    else:
        assert {"model.latent_dim", "model.lr_g", "model.lr_d", "data.batch_size"} <= set(params)


def test_sweep_experiments_sweep_models_and_losses():
    assert sweeper_params("+experiment=mlp_vs_dcgan") == {"model": "mlp_gan,dcgan"}
    zoo = sweeper_params("+experiment=zoo")
    assert set(zoo["model"].split(",")) == {"mlp_gan", "dcgan", "cdcgan"}
    assert set(zoo["loss"].split(",")) == {"bce", "hinge", "lsgan", "wgan_gp"}
    assert all((CONFIG_DIR / "model" / f"{m}.yaml").is_file() for m in zoo["model"].split(","))
    assert all((CONFIG_DIR / "loss" / f"{m}.yaml").is_file() for m in zoo["loss"].split(","))


# --- the speed knobs (conf/perf/fast.yaml)


def test_default_config_has_every_speed_knob_off(compose_cfg):
    cfg = compose_cfg()
    speed = cfg.model.speed
    assert not (speed.channels_last or speed.fused_adam or speed.compile)
    assert speed.compile_mode == "default"
    assert str(cfg.trainer.precision) == "32" and cfg.trainer.benchmark is False
    assert cfg.matmul_precision is None


@pytest.fixture
def two_gpus(monkeypatch):
    """This machine as one with two CUDA GPUs, for the checks that ask which devices exist."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("trainer,precision", [("cpu", "32"), ("gpu", "bf16-mixed"), ("ddp", "bf16-mixed")])
def test_fast_preset_turns_every_knob_on_and_bf16_only_on_gpus(compose_cfg, trainer, precision, two_gpus):
    cfg = compose_cfg("+perf=fast", f"trainer={trainer}")
    validate_config(cfg)
    assert cfg.model.speed.channels_last and cfg.model.speed.fused_adam and cfg.model.speed.compile
    assert str(cfg.trainer.precision) == precision
    assert cfg.trainer.benchmark is True and cfg.matmul_precision == "high"


def test_fast_preset_with_automatic_accelerator_follows_cuda(compose_cfg, monkeypatch):
    for available, precision in [(True, "bf16-mixed"), (False, "32")]:
        monkeypatch.setattr(resolvers.torch.cuda, "is_available", lambda a=available: a)
        assert str(compose_cfg("+perf=fast").trainer.precision) == precision


# --- one line for each bad value, before anything is read or trained

BAD = [
    ("model.latent_dim=0", "model.latent_dim=0"),
    ("model.latent_dim=-3", "model.latent_dim=-3"),
    ("data.batch_size=0", "data.batch_size=0"),
    ("model.lr_g=0", "model.lr_g=0"),
    ("model.lr_d=-1e-4", "model.lr_d=-0.0001"),
    ("model.lr_scale=0", "model.lr_scale=0"),
    ("model.ema.kimg=0", "model.ema.kimg=0"),
    ("model.ema.rampup=-1", "model.ema.rampup=-1"),
    ("model.optimizer.betas=[0.5,1.0]", "model.optimizer.betas=1.0"),
    ("+model.optimizer.lr=0.1", "model.optimizer.lr=0.1 is not allowed: use model.lr_g"),
    ("data.resolution=48", "data.resolution=48"),
    ("data.resolution=16", "data.resolution=16"),
    ("model.loss=nope", "model.loss='nope'"),
    ("trainer.precision=8", "trainer.precision='8'"),
    ("model.speed.compile_mode=fastest", "model.speed.compile_mode='fastest'"),
    ("model.speed.compile=yes", "model.speed.compile='yes'"),
    ("model.speed.channels_last=1", "model.speed.channels_last=1"),
    ("model.gp_weight=-1", "model.gp_weight=-1 is not allowed"),
    ("data.fraction=0", "data.fraction=0 is not allowed: use a number in (0, 1]"),
    ("data.fraction=1.5", "data.fraction=1.5 is not allowed"),
    ("model.diffaugment=colour", "model.diffaugment='colour' has unknown 'colour'"),
    ("model.discriminator.norm=group", "model.discriminator.norm='group' is unknown"),
    (
        "callbacks.classifier_metrics.ckpt_path=/no/such.ckpt",
        "callbacks.classifier_metrics.ckpt_path='/no/such.ckpt'",
    ),
    ("trainer.max_epochs=abc", "trainer.max_epochs='abc'"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0"),
    ("trainer.max_steps=0", "trainer.max_steps=0"),
    ("trainer.log_every_n_steps=0", "trainer.log_every_n_steps=0"),
    ("seed=abc", "seed='abc'"),
    ("data=image_folder", "data.path is not set"),
    ("guard.on_nonfinite=ignore", "guard.on_nonfinite='ignore'"),
    ("callbacks.checkpoint.every_n_steps=-1", "callbacks.checkpoint.every_n_steps=-1"),
    ("callbacks.fid.n_samples=1", "callbacks.fid.n_samples=1"),
    (
        "callbacks.fid.kid.subset_size=10000",
        "callbacks.fid.kid.subset_size=10000 is not allowed: use a whole",
    ),
    ("ckpt_path=/no/such.ckpt", "ckpt_path='/no/such.ckpt' is missing"),
    ("callbacks.fid.prdc_k=0", "callbacks.fid.prdc_k=0 is not allowed: use a whole number in 1..1999"),
    ("callbacks.fid.prdc_k=10000", "callbacks.fid.prdc_k=10000 is not allowed"),
]


@pytest.mark.parametrize(
    "overrides,named",
    [
        (
            ("model=sngan_resnet", "+model.generator.width=3"),
            "model.generator.width=3 is not a SNGANGenerator",
        ),
        (("model=biggan", "+model.discriminator.heads=2"), "model.discriminator.heads=2 is not a BigGANDisc"),
        (
            ("model=biggan", "model.generator.attention=maybe"),
            "model.generator.attention='maybe' is not allowed",
        ),
        (("model=biggan", "model.latent_dim=81"), "model.latent_dim=81 is not allowed"),
        (("model=sngan_resnet", "data.resolution=64"), "data.resolution=64 is not allowed: use 32"),
        (("model=sngan_resnet", "model.discriminator.norm=batch"), "model.discriminator.norm='batch' is not"),
        (("+model.generator.depth=3",), "model.generator.depth=3 is not a DCGANGenerator setting"),
    ],
)
def test_unknown_or_bad_architecture_options_are_one_line(compose_cfg, overrides, named):
    message = str(build_error(compose_cfg(*overrides)))
    assert message.startswith(named) and "\n" not in message, message


@pytest.mark.parametrize("override,named", BAD)
def test_bad_values_get_one_line_naming_them(compose_cfg, override, named):
    message = str(build_error(compose_cfg(override)))
    assert message.startswith(named) and "use" in message and "\n" not in message


def test_conditional_class_count_is_checked(compose_cfg):
    message = str(build_error(compose_cfg("model=cdcgan", "model.generator.num_classes=0")))
    assert message.startswith("model.generator.num_classes=0 is not allowed") and "\n" not in message


def test_latent_dim_set_on_the_generator_is_refused(compose_cfg):
    """model.latent_dim is the one knob: the GAN builds its generator with it."""
    message = str(build_error(compose_cfg("+model.generator.latent_dim=8")))
    assert message == "model.generator.latent_dim=8 is not a setting: use model.latent_dim=8"


@pytest.mark.parametrize(
    "override,choice",
    [("+experiment=nonexistent", "lr_half"), ("model=nonexistent", "mlp_gan"), ("loss=nonexistent", "hinge")],
)
def test_unknown_names_are_refused_with_the_choices(compose_cfg, override, choice):
    with pytest.raises(MissingConfigException) as err:
        compose_cfg(override)
    group = override.lstrip("+").split("=")[0]
    message = str(err.value)
    assert f"Could not find '{group}/nonexistent'" in message
    assert f"Available options in '{group}'" in message and choice in message


def test_precisions_are_accepted(compose_cfg, two_gpus):
    for precision in ["32", "16-mixed", "bf16-mixed"]:
        validate_config(compose_cfg(f"trainer.precision={precision}"))


def test_data_dir_follows_the_environment(compose_cfg, monkeypatch):
    monkeypatch.setenv("GANLAB_DATA_DIR", "/somewhere/cifar")
    assert Path(compose_cfg().data.data_dir) == Path("/somewhere/cifar")


def test_building_reads_no_data(compose_cfg, tmp_path):
    cfg = compose_cfg(f"data.data_dir={tmp_path / 'no-cifar'}", "data.download=false")
    datamodule, model, trainer, _ = build(cfg)  # CIFAR-10 is missing: only training would notice
    assert datamodule.images is None and not (tmp_path / "no-cifar").exists()
    assert isinstance(model.generator, torch.nn.Module) and trainer.max_epochs == cfg.trainer.max_epochs


# --- checkpoints that cannot continue this run


def saved_checkpoint(cfg, tmp_path, **budget) -> str:
    """Train the smoke run for one epoch and return its last.ckpt."""
    from src.train import fit

    with open_dict(cfg):
        cfg.trainer.max_epochs = 1
        cfg.trainer.enable_progress_bar = False
    fit(cfg)
    return f"{cfg.paths.output_dir}/checkpoints/last.ckpt"


def test_checkpoints_that_cannot_continue_are_one_line(compose_cfg, tmp_path):
    last = saved_checkpoint(compose_cfg("+experiment=smoke"), tmp_path)
    cases = [
        ((f"ckpt_path={tmp_path}",), f"ckpt_path={str(tmp_path)!r} is a folder"),
        (
            (f"ckpt_path={last}", "model.generator.base_width=16"),
            f"ckpt_path={last!r} holds another architecture than this config (generator.net.0.weight",
        ),
        ((f"ckpt_path={last}", "trainer.max_epochs=1"), "trainer.max_epochs=1 but"),
    ]
    other_latent = str(
        build_error(compose_cfg("+experiment=smoke", f"ckpt_path={last}", "model.latent_dim=8"))
    )
    assert (
        other_latent.startswith(f"ckpt_path={last!r} holds another architecture") and "\n" not in other_latent
    )
    assert "use model.latent_dim=16 (as it was trained)" in other_latent  # the key to change, not only shapes
    for overrides, named in cases:
        message = str(build_error(compose_cfg("+experiment=smoke", *overrides)))
        assert message.startswith(named) and "\n" not in message, message
    assert "has trained 1 epochs already: use trainer.max_epochs > 1" in message
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(Path(last).read_bytes()[:500])
    message = str(build_error(compose_cfg("+experiment=smoke", f"ckpt_path={truncated}")))
    assert "is not a readable checkpoint" in message and "\n" not in message
