"""Composing the GAN family from config groups, the presets, and the one-line errors for new knobs."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import MissingConfigException

from src.utils.errors import ConfigError
from src.utils.validation import validate_config
from tests.helpers import CONFIG_DIR


def sweeper_params(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides), return_hydra_config=True)
    return dict(cfg.hydra.sweeper.params)


def test_default_is_the_dcgan_with_bce_and_nothing_added(compose_cfg):
    model = compose_cfg().model
    assert model.loss == "bce" and model.gp_weight == 0 and model.n_critic == 1
    assert not model.d_spectral_norm and model.diffaugment == "" and model.discriminator.norm == "batch"


@pytest.mark.parametrize("loss", ["bce", "hinge", "lsgan", "wgan_gp"])
@pytest.mark.parametrize("model", ["dcgan", "mlp_gan", "cdcgan"])
def test_every_model_composes_with_every_loss(compose_cfg, model, loss):
    cfg = compose_cfg(f"model={model}", f"loss={loss}")
    validate_config(cfg)
    assert cfg.model.loss == loss
    assert (
        cfg.model.generator._target_.split(".")[-1]
        == {
            "dcgan": "DCGANGenerator",
            "mlp_gan": "MLPGenerator",
            "cdcgan": "ConditionalDCGANGenerator",
        }[model]
    )


def test_wgan_gp_group_sets_the_papers_settings(compose_cfg):
    model = compose_cfg("loss=wgan_gp").model
    assert (model.gp_weight, model.n_critic, list(model.betas)) == (10.0, 5, [0.0, 0.9])
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


def test_sweep_experiments_sweep_models_and_losses():
    assert sweeper_params("+experiment=mlp_vs_dcgan") == {"model": "mlp_gan,dcgan"}
    zoo = sweeper_params("+experiment=zoo")
    assert set(zoo["model"].split(",")) == {"mlp_gan", "dcgan", "cdcgan"}
    assert set(zoo["loss"].split(",")) == {"bce", "hinge", "lsgan", "wgan_gp"}
    assert all((CONFIG_DIR / "model" / f"{m}.yaml").is_file() for m in zoo["model"].split(","))
    assert all((CONFIG_DIR / "loss" / f"{m}.yaml").is_file() for m in zoo["loss"].split(","))


def test_unknown_loss_group_is_refused_by_hydra(compose_cfg):
    with pytest.raises(MissingConfigException, match="nope"):
        compose_cfg("loss=nope")


BAD = [
    ("model.gp_weight=-1", "model.gp_weight=-1 is not allowed"),
    ("data.fraction=0", "data.fraction=0 is not allowed: use a number in (0, 1]"),
    ("data.fraction=1.5", "data.fraction=1.5 is not allowed"),
    ("model.diffaugment=colour", "model.diffaugment='colour' has unknown 'colour'"),
    ("model.discriminator.norm=group", "model.discriminator.norm='group' is unknown"),
    (
        "callbacks.classifier_metrics.ckpt_path=/no/such.ckpt",
        "callbacks.classifier_metrics.ckpt_path='/no/such.ckpt'",
    ),
]


@pytest.mark.parametrize("override,named", BAD)
def test_bad_new_values_get_one_line_naming_them(compose_cfg, override, named):
    with pytest.raises(ConfigError) as err:
        validate_config(compose_cfg(override))
    message = str(err.value)
    assert message.startswith(named) and "use" in message and "\n" not in message


def test_conditional_class_count_is_checked(compose_cfg):
    with pytest.raises(ConfigError, match=r"^model.generator.num_classes=0 is not allowed"):
        validate_config(compose_cfg("model=cdcgan", "model.generator.num_classes=0"))
