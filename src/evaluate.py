"""Evaluate sample quality: `python -m src.evaluate ckpt_path=PATH [n_samples=50000]`.

Prints one JSON line (FID, KID, IS or null, precision, recall, density, coverage, and the protocol
of the numbers), stores it in scores.json of its own folder (<run>/evaluate/<time>/) and then in
metrics.json beside the checkpoint (a metrics.json that is not valid JSON is left as it was).
`data_only=true` scores the real test split against the training statistics instead: the floor that
no model can beat on this data. A GAN and a diffusion checkpoint go through the same command;
`sampler=ddim|ddpm steps=N eta=E` choose a diffusion model's sampler.
"""

from __future__ import annotations

from src.core.signals import stop_at_once

if __name__ == "__main__":
    stop_at_once()  # from here a Ctrl-C or SIGTERM is one line (src/core/signals.py)

import json
import logging
import time
from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from src.core.checks import is_whole, positive_int
from src.core.device import pick_device
from src.core.errors import ConfigError
from src.core.files import write_atomically
from src.data.base import TensorImageDataModule
from src.generative.checkpoint import load_module
from src.generative.module import SAMPLER_KEYS, GenerativeModule
from src.metrics.features import generator_features, image_features
from src.metrics.network import default_cache_dir, load_feature_network
from src.metrics.reference import REAL_FEATURES, reference_stats
from src.metrics.scores import check_prdc_k, check_sample_counts, real_images, scores
from src.run.attempt import claim
from src.run.config_checks import validate_run
from src.run.entry import main as run_main
from src.run.entry import run_task


def load_split(cfg: DictConfig, split: str, limit: int | None, key: str) -> tuple[TensorImageDataModule, str]:
    datamodule = instantiate(cfg.data, split=split, on_device=False)
    datamodule.prepare_data()
    datamodule.setup("fit")
    datamodule.images = real_images(datamodule.images, limit, key, f"the {split} split")
    return datamodule, datamodule.describe()


log = logging.getLogger(__name__)
DEFAULT_KID_SUBSET_SIZE = 1000


def kid_subset_size_for(cfg: DictConfig) -> int:
    """`kid_subset_size`, or with null the standard 1000 capped at half the generated images and at
    the real ones, so a small evaluation (n_samples=32 n_real=32) runs as written."""
    if cfg.kid.subset_size is not None:
        return cfg.kid.subset_size
    sizes = [DEFAULT_KID_SUBSET_SIZE]
    if is_whole(cfg.n_samples) and not cfg.data_only:
        sizes.append(max(1, cfg.n_samples // 2))
    if is_whole(cfg.n_real):
        sizes.append(max(1, cfg.n_real // 2))
    return min(sizes)


def evaluate(cfg: DictConfig) -> dict:
    """The scores described by `cfg`, written to metrics.json; returns them."""
    validate_run(cfg)
    if not cfg.data_only and not cfg.ckpt_path:
        raise ConfigError(
            "ckpt_path=null is not allowed: give a checkpoint, or data_only=true for the real-data floor"
        )
    kid_subset_size = kid_subset_size_for(cfg)
    n_fake = (cfg.n_eval or REAL_FEATURES) if cfg.data_only else cfg.n_samples  # samples PRDC compares
    if not cfg.data_only:
        check_sample_counts(cfg.n_samples, kid_subset_size)
    check_prdc_k(cfg.prdc_k, cfg.n_real, n_fake, "prdc_k")
    positive_int(cfg.batch_size, "batch_size")
    device = pick_device(cfg.device)
    # the checkpoint is read (one line if it is missing, truncated or of another kind) before any pass
    model = None if cfg.data_only else load_module(cfg.ckpt_path, device, wanted=GenerativeModule)
    out_path = (Path(cfg.paths.output_dir) if cfg.data_only else Path(cfg.ckpt_path).parent) / "metrics.json"
    earlier = read_metrics(out_path)  # a broken metrics.json is found now, not after the pass
    if isinstance(earlier, str):
        log.warning(
            "%s is not valid JSON (%s): it is left as it was; the scores go to scores.json", out_path, earlier
        )
    network = load_feature_network(**cfg.metrics)
    network = network.to(device).eval()
    cache_dir = cfg.metrics.cache_dir or default_cache_dir()
    train, train_name = load_split(cfg, "train", cfg.n_real, "n_real")
    check_prdc_k(cfg.prdc_k, len(train.images), n_fake, "prdc_k")  # the data's own size, before any pass
    reference = reference_stats(
        network, train.images, train_name, cache_dir, cfg.batch_size, device, progress=cfg.progress
    )
    started = time.perf_counter()
    if cfg.data_only:
        real, real_name = load_split(cfg, cfg.eval_split, cfg.n_eval, "n_eval")
        features, logits = image_features(network, real.images, cfg.batch_size, device, progress=cfg.progress)
        evaluated = {"evaluated": real_name}
    else:
        options = model.sampler_options(**{k: cfg[k] for k in SAMPLER_KEYS if cfg.get(k) is not None})
        use_ema = cfg.ema and model.has_ema
        features, logits = generator_features(
            network,
            lambda start, count: model.sample(count, cfg.seed, ema=use_ema, start=start, **options),
            cfg.n_samples,
            cfg.batch_size,
            progress=cfg.progress,
        )
        evaluated = {
            "checkpoint": str(Path(cfg.ckpt_path).resolve()),
            "generator": "ema" if use_ema else "raw",
            "latent_seed": cfg.seed,
            **({"sampler": options} if options else {}),
        }
    seconds = time.perf_counter() - started
    result = scores(
        features, logits, reference, cfg.kid.subsets, kid_subset_size, cfg.is_splits, prdc_k=cfg.prdc_k
    )
    result["protocol"].update(evaluated, device=str(device))
    result["timing"] = {
        "feature_pass_s": round(seconds, 2),
        "images_per_s": round(len(features) / seconds, 2),
    }
    # the scores reach the console and this evaluation's own folder before metrics.json is touched
    print(json.dumps(result), flush=True)
    write_atomically(json.dumps(result, indent=1), Path(cfg.paths.output_dir) / "scores.json")
    claim(Path(cfg.paths.output_dir))  # kept whatever happens next
    key = Path(cfg.ckpt_path).name if cfg.ckpt_path and not cfg.data_only else "data_only"
    if isinstance(earlier, str):
        raise ConfigError(
            f"{out_path} is not valid JSON ({earlier}) and was left as it was: the scores are printed "
            f"above and in {Path(cfg.paths.output_dir) / 'scores.json'}"
        )
    write_atomically(json.dumps({**earlier, key: result}, indent=1), out_path)
    return result


def read_metrics(path: Path) -> dict | str:
    """metrics.json (checkpoint name -> its latest scores; {} when absent), or why it cannot be read."""
    if not path.is_file():
        return {}
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return str(exc).splitlines()[0]
    return found if isinstance(found, dict) else "not a JSON object"


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def hydra_main(cfg: DictConfig) -> None:
    run_task(evaluate, cfg)


def main() -> None:
    run_main(hydra_main)


if __name__ == "__main__":
    main()
