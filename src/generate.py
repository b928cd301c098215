"""Look at a model: `python -m src.generate ckpt_path=PATH`.

Writes grid.png (grid_size x grid_size samples), images/NNNNN.png (n_images single samples) and
interpolation.png (rows of spherical interpolation between two random latent codes). For a
class-conditional model, `class_label=K` makes every image of class K. For a diffusion checkpoint
`sampler=ddim|ddpm steps=N eta=E` choose the sampler (null: the model's own); the interpolation runs
between two x_T (deterministic with DDIM eta=0). A GAN checkpoint refuses them in one line.
"""

from __future__ import annotations

from src.core.signals import stop_at_once

if __name__ == "__main__":
    stop_at_once()  # from here a Ctrl-C or SIGTERM is one line (src/core/signals.py)

import io
import logging
import time
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import Tensor
from torchvision.utils import make_grid, save_image

from src.core.checks import whole
from src.core.device import pick_device
from src.core.errors import ConfigError
from src.core.pixels import to_unit_range
from src.generative.checkpoint import load_module
from src.generative.module import SAMPLER_KEYS, GenerativeModule
from src.metrics.features import batch_ranges
from src.metrics.progress import ImageProgress, format_duration
from src.run.config_checks import validate_run
from src.run.entry import main as run_main
from src.run.entry import run_task

log = logging.getLogger(__name__)
INTERPOLATION_SEED_OFFSET = 1  # the strip's codes: seed + 1, so they are not the grid's first images
PARALLEL_EPS = 1e-6  # below this sin(angle), the two codes are parallel and slerp is a lerp


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation between codes a [d] and b [d] at fractions t [k] -> [k, d].

    Gaussian codes live near a sphere; a straight line between two of them passes through
    atypically short codes, the great circle does not (White, 2016).
    """
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1, 1))
    t = t.view(-1, 1)
    if torch.sin(omega).abs() < PARALLEL_EPS:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


OUTPUTS = ("grid.png", "images", "interpolation.png")


def output_dir(cfg: DictConfig) -> Path:
    """`out_dir`, which must not hold a previous grid or images; by default <run>/generated/<checkpoint
    name>, or `..._2`, `..._3` when an earlier generate filled it: earlier images are never replaced."""
    if cfg.out_dir:
        out = Path(cfg.out_dir)
        if out.exists() and not out.is_dir():
            raise ConfigError(f"out_dir={str(out)!r} is a file: give a folder (it is made if missing)")
        there = [name for name in OUTPUTS if (out / name).exists()]
        if there:
            raise ConfigError(
                f"out_dir={str(out)!r} already holds {', '.join(there)}: give another folder (nothing is "
                "replaced)"
            )
        return out
    ckpt = Path(cfg.ckpt_path)
    base = ckpt.parent.parent / "generated" / ckpt.stem  # <run>/checkpoints/x.ckpt -> <run>/generated/x
    out, n = base, 1
    while out.exists() and any(out.iterdir()):
        n += 1
        out = base.with_name(f"{base.name}_{n}")
    return out


def png_cost(images: torch.Tensor) -> tuple[float, int]:
    """Seconds and bytes per image of writing `images` ([0, 1]) as PNG files, measured on them."""
    started, size = time.perf_counter(), 0
    for image in images:
        buffer = io.BytesIO()
        save_image(image, buffer, format="png")
        size += buffer.getbuffer().nbytes
    return (time.perf_counter() - started) / len(images), size // len(images)


def check_size(cfg: DictConfig, seconds_per_image: float, bytes_per_image: int, out: Path) -> None:
    """Say what `n_images` costs before writing any; refuse more than `max_images`."""
    n = cfg.n_images
    cost = f"about {format_bytes(n * bytes_per_image)} and {format_duration(n * seconds_per_image)} here"
    if n > cfg.max_images:
        raise ConfigError(
            f"n_images={n} is more than max_images={cfg.max_images} ({cost}): raise max_images to allow it"
        )
    log.info("writing %d images to %s: %s", n, out / "images", cost)


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def generate(cfg: DictConfig) -> Path:
    """Write the grid, single images and interpolation strip; returns the folder."""
    validate_run(cfg)
    for key in ("n_images", "grid_size", "interpolation_rows"):
        whole(cfg[key], key)
    whole(cfg.interpolation_steps, "interpolation_steps", low=2)
    device = pick_device(cfg.device)
    model = load_module(
        cfg.ckpt_path, device, wanted=GenerativeModule
    )  # a GAN or a diffusion model, as the checkpoint says
    options = model.sampler_options(**{k: cfg[k] for k in SAMPLER_KEYS if cfg.get(k) is not None})
    label = cfg.get("class_label")
    if label is not None:
        if not model.conditional:
            raise ConfigError(
                f"class_label={label!r} is not allowed: use null (this model is not conditional)"
            )
        whole(label, "class_label", 0, model.num_classes - 1)
    ema = cfg.ema and model.has_ema
    whole(cfg.max_images, "max_images")
    out = output_dir(cfg)

    # image i is sample i of the seed: the same image that `src.evaluate` scores with that seed
    started = time.perf_counter()
    grid = model.sample(cfg.grid_size**2, cfg.seed, labels=label, ema=ema, **options)
    seconds, size = png_cost(to_unit_range(grid).cpu())
    check_size(cfg, seconds + (time.perf_counter() - started) / len(grid), size, out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    save_image(make_grid(to_unit_range(grid).cpu(), nrow=cfg.grid_size), out / "grid.png")

    with ImageProgress(cfg.n_images, "generated images") as bar:
        for start, count in batch_ranges(cfg.n_images, cfg.grid_size**2):
            batch = model.sample(count, cfg.seed, labels=label, ema=ema, start=start, **options)
            for i, image in enumerate(to_unit_range(batch).cpu()):
                save_image(image, out / "images" / f"{start + i:05d}.png")
            bar.update(count)

    # the interpolation's end points come from a seed of their own, apart from the samples'
    t = torch.linspace(0, 1, cfg.interpolation_steps, device=device)
    ends = model.latent_codes(2 * cfg.interpolation_rows, seed=cfg.seed + INTERPOLATION_SEED_OFFSET)
    flat = ends.flatten(1)  # slerp works on vectors: a diffusion model's x_T is an image
    codes = torch.cat([slerp(flat[2 * r], flat[2 * r + 1], t) for r in range(cfg.interpolation_rows)])
    codes = codes.reshape(-1, *ends.shape[1:])
    strip = model.generate(codes, label, ema=ema, **options)
    save_image(make_grid(to_unit_range(strip).cpu(), nrow=cfg.interpolation_steps), out / "interpolation.png")
    return out


@hydra.main(version_base="1.3", config_path="../conf", config_name="generate")
def hydra_main(cfg: DictConfig) -> None:
    out = run_task(generate, cfg)
    print(f"wrote {out}/grid.png, {cfg.n_images} images in {out}/images, {out}/interpolation.png")


def main() -> None:
    run_main(hydra_main)


if __name__ == "__main__":
    main()
