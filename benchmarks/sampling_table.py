"""Which generator samples best: FID (and precision/recall) of the EMA and the raw generator, each in eval
and in train mode, and the EMA net with BatchNorm statistics of its own, for one or more checkpoints.

    python benchmarks/sampling_table.py CKPT [CKPT ...] [--n 2000] [--seeds 0,1] [--data-dir DIR]

Every cell scores the same latent codes (per seed) against the same cached statistics of the first
`--n` training images, so the cells of a row differ only in the generator and its mode. Markdown on
stdout, for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project, not this folder's modules by bare name
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import os

import torch

from src.data import CIFAR10DataModule
from src.generative.checkpoint import load_module
from src.metrics.features import generator_features
from src.metrics.network import default_cache_dir, load_feature_network
from src.metrics.reference import reference_stats
from src.metrics.scores import scores

CELLS = (  # (column, EMA net, eval mode, the EMA net's own BatchNorm statistics)
    ("EMA, eval", True, True, False),
    ("EMA, train", True, False, False),
    ("raw, eval", False, True, False),
    ("raw, train", False, False, False),
    ("EMA own BN, eval", True, True, True),
)
BATCH, NORM_SAMPLES, KID_SUBSETS = 250, 2048, 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", type=Path)
    parser.add_argument("--n", type=int, default=2000, help="generated and real images per cell")
    parser.add_argument("--seeds", default="0", help="latent seeds, comma-separated (their spread: noise)")
    parser.add_argument("--data-dir", default=os.environ.get("GANLAB_DATA_DIR", "data"))
    args = parser.parse_args()
    network = load_feature_network(allow_download=False)
    data = CIFAR10DataModule(data_dir=args.data_dir, on_device=False, hflip=False)
    data.setup()
    real, name = data.images[: args.n], data.describe()
    reference = reference_stats(network, real, name, default_cache_dir(), BATCH, "cpu")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"FID-{args.n // 1000}k against the first {args.n:,} training images ({name}); seeds {seeds}")
    print("\n| checkpoint | step | seed | " + " | ".join(c[0] for c in CELLS) + " |")
    print("|---|---:|---:|" + "---:|" * len(CELLS))
    for path in args.checkpoints:
        model = load_module(path, "cpu")
        for seed in seeds:
            cells = []
            for _, ema, eval_mode, own_norms in CELLS:
                model.ema_norm_samples = NORM_SAMPLES if own_norms else 0
                model._norms_measured_at = None  # the EMA net's statistics as the checkpoint saved them
                model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])

                def sample(start: int, count: int, m=model, seed=seed, ema=ema, eval_mode=eval_mode):
                    return m.sample(count, seed, ema=ema, eval_mode=eval_mode, start=start)

                features, _ = generator_features(network, sample, args.n, BATCH, progress=False)
                out = scores(features, None, reference, KID_SUBSETS, min(1000, args.n // 2), prdc_k=3)
                cells.append(f"{out['fid']:.1f} ({out['precision']:.2f}/{out['recall']:.2f})")
            step = torch.load(path, map_location="cpu", weights_only=True)["global_step"]
            row = f"| {path.parent.parent.name}/{path.name} | {step} | {seed} | " + " | ".join(cells) + " |"
            print(row, flush=True)
    print("\ncells: FID (precision/recall, k=3); lower FID is better")


if __name__ == "__main__":
    main()
