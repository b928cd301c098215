from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.errors import MissingConfigException
from hydra.utils import instantiate

from src.utils.errors import ConfigError
from src.utils.validation import validate_config
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


def test_course_experiments_exist():
    assert set(COURSE) <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_builds(compose_cfg, name):
    cfg = compose_cfg(f"+experiment={name}")
    validate_config(cfg)
    assert cfg.task_name == name
    model = instantiate(cfg.model, _recursive_=False)
    z = torch.randn(2, cfg.model.latent_dim)
    images = model.generator(z)
    assert tuple(images.shape) == (2, 3, cfg.data.resolution, cfg.data.resolution)
    assert instantiate(cfg.data).batch_size == cfg.data.batch_size


def test_experiments_change_what_they_say(compose_cfg):
    base = compose_cfg()
    assert compose_cfg("+experiment=lr_half").model.lr_g == base.model.lr_g / 2
    assert compose_cfg("+experiment=lr_half").model.lr_d == base.model.lr_d / 2
    assert compose_cfg("+experiment=latent_dim_256").model.generator.latent_dim == 256
    assert compose_cfg("+experiment=batch_128").data.batch_size == 128
    assert compose_cfg("+experiment=epochs_100").trainer.max_epochs == 100
    assert compose_cfg("+experiment=dcgan_64px").model.discriminator.resolution == 64


@pytest.mark.parametrize("sweep", ["course", "grid"])
def test_sweep_presets_compose(compose_cfg, sweep):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"+sweep={sweep}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert len(params) >= 1
    if sweep == "course":
        jobs = params["+experiment"].split(",")
        assert all((CONFIG_DIR / "experiment" / f"{j}.yaml").is_file() for j in jobs)
    else:
        assert {"model.latent_dim", "model.lr_g", "model.lr_d", "data.batch_size"} <= set(params)


BAD = [
    ("model.latent_dim=0", "model.latent_dim=0"),
    ("model.latent_dim=-3", "model.latent_dim=-3"),
    ("data.batch_size=0", "data.batch_size=0"),
    ("model.lr_g=0", "model.lr_g=0"),
    ("model.lr_d=-1e-4", "model.lr_d=-0.0001"),
    ("data.resolution=48", "data.resolution=48"),
    ("data.resolution=16", "data.resolution=16"),
    ("model.loss=nope", "model.loss='nope'"),
    ("trainer.precision=8", "trainer.precision='8'"),
    ("model.compile_mode=fastest", "model.compile_mode='fastest'"),
    ("model.compile=yes", "model.compile='yes'"),
    ("model.channels_last=1", "model.channels_last=1"),
]


@pytest.mark.parametrize("override,named", BAD)
def test_bad_values_get_one_line_naming_them(compose_cfg, override, named):
    cfg = compose_cfg(override)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    message = str(err.value)
    assert message.startswith(named) and "use" in message and "\n" not in message


@pytest.mark.parametrize("override", ["+experiment=nonexistent", "model=nonexistent"])
def test_unknown_names_are_refused_with_the_choices(compose_cfg, override):
    with pytest.raises(MissingConfigException) as err:
        compose_cfg(override)
    assert "nonexistent" in str(err.value)


def test_precisions_are_accepted(compose_cfg):
    for precision in ["32", "16-mixed", "bf16-mixed"]:
        validate_config(compose_cfg(f"trainer.precision={precision}"))


def test_data_dir_follows_the_environment(compose_cfg, monkeypatch):
    monkeypatch.setenv("GANLAB_DATA_DIR", "/somewhere/cifar")
    assert Path(compose_cfg().data.data_dir) == Path("/somewhere/cifar")
