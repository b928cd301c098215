"""The framework's real config, composed from conf/ with Hydra's compose API, for one benchmark run."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from benchmarks.timing import RunSpec
from src.run.resolvers import register_resolvers

CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"
# --tiny: nets small enough for a test to train a few steps in well under a second
TINY_OVERRIDES = ("model.latent_dim=16", "model.generator.base_width=8", "model.discriminator.base_width=8")
GAN_TARGET = "src.gan.GAN"  # the module every GAN model config builds (the DDPMs build another)


def compose_config(overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """conf/config.yaml with `overrides`, composed as the entry points do (resolvers first)."""
    register_resolvers()  # what the entry points do first (src/run/entry.py)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def compose_run(spec: RunSpec, overrides: tuple[str, ...] = ()) -> DictConfig:
    """conf/config.yaml + `overrides`, with the run's device, batch size and data folder."""
    accelerator = "gpu" if spec.device.type == "cuda" else "cpu"
    settings = [
        f"data.batch_size={spec.batch_size}",
        "data.download=false",
        f"trainer.accelerator={accelerator}",
    ]
    cfg = compose_config([*settings, *(TINY_OVERRIDES if spec.tiny else ()), *overrides, "trainer.devices=1"])
    with open_dict(cfg):  # paths are set here, not as override strings, so any folder name works
        cfg.data.data_dir = str(spec.data_dir)
    return cfg


def default_batch_size() -> int:
    """The batch size of the default training config (conf/data/cifar10.yaml)."""
    return int(compose_config().data.batch_size)


def gan_models() -> list[str]:
    """The `model=` names of conf/model/*.yaml that build a GAN (not the diffusion models), sorted."""
    names = sorted(path.stem for path in (CONFIG_DIR / "model").glob("*.yaml"))
    return [name for name in names if compose_config([f"model={name}"]).model.get("_target_") == GAN_TARGET]
