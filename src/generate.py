"""Look at a model: `python -m src.generate ckpt_path=PATH`.

Writes grid.png (grid_size x grid_size samples), images/NNNNN.png (n_images single samples) and
interpolation.png (rows of spherical interpolation between two random latent codes). For a
class-conditional model, `class_label=K` makes every image of class K. For a diffusion checkpoint
`sampler=ddim|ddpm steps=N eta=E` choose the sampler (null: the model's own); the interpolation runs
between two x_T (deterministic with DDIM eta=0). A GAN checkpoint refuses them in one line.
"""

from __future__ import annotations

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
from src.generative.module import SAMPLER_KEYS
from src.metrics.features import batch_ranges
from src.run.config_checks import validate_run
from src.run.entry import run_task, setup

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


def output_dir(cfg: DictConfig) -> Path:
    if cfg.out_dir:
        return Path(cfg.out_dir)
    ckpt = Path(cfg.ckpt_path)
    return ckpt.parent.parent / "generated" / ckpt.stem  # <run>/checkpoints/x.ckpt -> <run>/generated/x


def generate(cfg: DictConfig) -> Path:
    """Write the grid, single images and interpolation strip; returns the folder."""
    validate_run(cfg)
    for key in ("n_images", "grid_size", "interpolation_rows"):
        whole(cfg[key], key)
    whole(cfg.interpolation_steps, "interpolation_steps", low=2)
    device = pick_device(cfg.device)
    model = load_module(cfg.ckpt_path, device)  # a GAN or a diffusion model, as the checkpoint says
    options = model.sampler_options(**{k: cfg[k] for k in SAMPLER_KEYS if cfg.get(k) is not None})
    label = cfg.get("class_label")
    if label is not None:
        if not model.conditional:
            raise ConfigError(
                f"class_label={label!r} is not allowed: use null (this model is not conditional)"
            )
        whole(label, "class_label", 0, model.num_classes - 1)
    ema = cfg.ema and model.has_ema
    out = output_dir(cfg)
    (out / "images").mkdir(parents=True, exist_ok=True)

    # image i is sample i of the seed: the same image that `src.evaluate` scores with that seed
    grid = model.sample(cfg.grid_size**2, cfg.seed, labels=label, ema=ema, **options)
    save_image(make_grid(to_unit_range(grid).cpu(), nrow=cfg.grid_size), out / "grid.png")

    for start, count in batch_ranges(cfg.n_images, cfg.grid_size**2):
        batch = model.sample(count, cfg.seed, labels=label, ema=ema, start=start, **options)
        for i, image in enumerate(to_unit_range(batch).cpu()):
            save_image(image, out / "images" / f"{start + i:05d}.png")

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
    setup()
    hydra_main()


if __name__ == "__main__":
    main()
