"""Checks of the composed config that run before anything is built, so a bad value fails fast."""

from __future__ import annotations

from omegaconf import DictConfig

from src.losses import LOSSES
from src.perf import COMPILE_MODES
from src.utils.errors import ConfigError

PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed")
SPEED_SWITCHES = ("channels_last", "fused_adam", "compile")


def is_power_of_two(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def check_resolution(resolution: int, minimum: int = 32) -> int:
    """The DCGAN block count is derived from the resolution, so it must be a power of two >= 32."""
    if not isinstance(resolution, int) or resolution < minimum or not is_power_of_two(resolution):
        raise ConfigError(f"data.resolution={resolution!r} is not allowed: use a power of two >= {minimum}")
    return resolution


def _positive(value: object, name: str, kind: type = int) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind is int:
        ok = ok and isinstance(value, int)
    if not ok:
        what = "a whole number > 0" if kind is int else "a number > 0"
        raise ConfigError(f"{name}={value!r} is not allowed: use {what}")


def validate_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) for the first bad value found in a training config."""
    model, data = cfg.model, cfg.data
    _positive(model.latent_dim, "model.latent_dim")
    _positive(data.batch_size, "data.batch_size")
    _positive(model.lr_g, "model.lr_g", float)
    _positive(model.lr_d, "model.lr_d", float)
    _positive(model.n_critic, "model.n_critic")
    check_resolution(data.resolution)
    ema_decay = model.get("ema_decay")
    if ema_decay is not None and not (isinstance(ema_decay, (int, float)) and 0 <= ema_decay < 1):
        raise ConfigError(
            f"model.ema_decay={ema_decay!r} is not allowed: use a number in [0, 1) or null (off)"
        )
    if model.loss not in LOSSES:
        raise ConfigError(f"model.loss={model.loss!r} is unknown: use one of {', '.join(sorted(LOSSES))}")
    precision = str(cfg.trainer.get("precision", "32"))
    if precision not in PRECISIONS:
        raise ConfigError(
            f"trainer.precision={precision!r} is not allowed: use one of 32, 16-mixed, bf16-mixed"
        )
    if cfg.trainer.get("sync_batchnorm") and cfg.trainer.get("accelerator") == "cpu":
        raise ConfigError(
            "trainer.sync_batchnorm=true needs GPUs: set trainer.sync_batchnorm=false for CPU processes"
        )
    betas = list(model.betas)
    if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
        raise ConfigError(f"model.betas={betas!r} is not allowed: use two numbers in [0, 1)")
    for switch in SPEED_SWITCHES:
        value = model.get(switch, False)
        if not isinstance(value, bool):
            raise ConfigError(f"model.{switch}={value!r} is not allowed: use true or false")
    mode = model.get("compile_mode", "default")
    if mode not in COMPILE_MODES:
        raise ConfigError(f"model.compile_mode={mode!r} is unknown: use one of {', '.join(COMPILE_MODES)}")
