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
from torchvision.utils import make_grid, save_image

from src.callbacks.samples import to_unit_range
from src.utils.errors import ConfigError
from src.utils.latent import slerp
from src.utils.modules import load_module, sampler_options
from src.utils.runtime import pick_device, run_or_exit
from src.utils.sampling import batch_ranges
from src.utils.validation import validate_run

INTERPOLATION_SEED_OFFSET = 1  # the strip's codes: seed + 1, so they are not the grid's first images


def output_dir(cfg: DictConfig) -> Path:
    if cfg.out_dir:
        return Path(cfg.out_dir)
    ckpt = Path(cfg.ckpt_path)
    return ckpt.parent.parent / "generated" / ckpt.stem  # <run>/checkpoints/x.ckpt -> <run>/generated/x


def generate(cfg: DictConfig) -> Path:
    """Write the grid, single images and interpolation strip; returns the folder."""
    validate_run(cfg)
    if not Path(cfg.ckpt_path).is_file():
        raise ConfigError(f"ckpt_path={cfg.ckpt_path!r} is not a file: give a .ckpt written by src.train")
    for key in ("n_images", "grid_size", "interpolation_rows", "interpolation_steps"):
        if not isinstance(cfg[key], int) or cfg[key] < (2 if key == "interpolation_steps" else 1):
            raise ConfigError(f"{key}={cfg[key]!r} is not allowed: use a whole number >= 1 (>= 2 for steps)")
    device = pick_device(cfg.device)
    model = load_module(cfg.ckpt_path, device)  # a GAN or a diffusion model, as the checkpoint says
    options = sampler_options(cfg, model)  # sampler/steps/eta: diffusion only
    label = cfg.get("class_label")
    if label is not None and not (
        model.conditional and isinstance(label, int) and 0 <= label < model.num_classes
    ):
        allowed = (
            f"0..{model.num_classes - 1}" if model.conditional else "null (this model is not conditional)"
        )
        raise ConfigError(f"class_label={label!r} is not allowed: use {allowed}")
    ema = cfg.ema and model.generator_ema is not None
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
def main(cfg: DictConfig) -> None:
    out = run_or_exit(generate, cfg)
    print(f"wrote {out}/grid.png, {cfg.n_images} images in {out}/images, {out}/interpolation.png")


if __name__ == "__main__":
    main()
