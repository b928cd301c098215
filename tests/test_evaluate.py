"""EMA of G, FID during training with the best checkpoint, and the evaluate / generate commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.callbacks import FIDCallback
from src.gan import GAN
from src.generate import generate
from src.train import train
from src.utils.errors import ConfigError
from src.utils.latent import slerp
from tests.helpers import CONFIG_DIR, PROJECT_ROOT, write_tiny_feature_network

TINY_G = {"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
QUIET = ["trainer.enable_progress_bar=false"]


def test_ema_follows_the_formula_and_copies_buffers():
    model = GAN(TINY_G, TINY_D, latent_dim=8, ema_decay=0.9, ema_start_step=0)
    g, ema = model.generator, model.generator_ema
    before = [p.detach().clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p))
        bn = next(m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d))
        bn.running_mean.fill_(3.0)
    model.update_ema()
    for e, e0, p in zip(ema.parameters(), before, g.parameters()):
        assert torch.allclose(e, 0.9 * e0 + 0.1 * p, atol=1e-6)
    ema_bn = next(m for m in ema.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.equal(ema_bn.running_mean, torch.full_like(ema_bn.running_mean, 3.0))
    assert not any(p.requires_grad for p in ema.parameters())


def test_ema_is_a_copy_before_its_start_step_and_absent_when_off():
    model = GAN(TINY_G, TINY_D, latent_dim=8, ema_decay=0.99, ema_start_step=10)  # global_step 0 < 10
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    model.update_ema()
    assert all(
        torch.equal(e, p) for e, p in zip(model.generator_ema.parameters(), model.generator.parameters())
    )
    off = GAN(TINY_G, TINY_D, latent_dim=8, ema_decay=None)
    assert off.generator_ema is None and off.sampling_generator is off.generator


def test_slerp_stays_on_the_sphere_between_its_ends():
    a, b = torch.randn(16), torch.randn(16)
    b = b / b.norm() * a.norm()
    path = slerp(a, b, torch.linspace(0, 1, 7))
    assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), a.norm().expand(7), rtol=1e-5)


@pytest.fixture
def fid_run(compose_cfg, tmp_path):
    """A tiny training run with FID every epoch (tiny feature network), 3 epochs."""
    weights = write_tiny_feature_network(tmp_path / "tiny.pt")
    cfg = compose_cfg(
        "+experiment=smoke",
        "callbacks=default",
        "trainer.max_epochs=3",
        "callbacks.fid.every_n_epochs=1",
        "callbacks.fid.n_samples=48",
        "callbacks.fid.batch_size=16",
        "callbacks.fid.kid_subsets=3",
        "callbacks.fid.kid_subset_size=16",
        "callbacks.fid.raw=true",
        f"metrics.weights_path={weights}",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "metrics.allow_download=false",
        *QUIET,
    )
    return cfg, train(cfg), weights


def test_fid_is_logged_each_epoch_and_the_best_checkpoint_has_the_lowest(fid_run):
    cfg, trainer, _ = fid_run
    (callback,) = [c for c in trainer.callbacks if isinstance(c, FIDCallback)]
    fids = [h["metrics/fid"] for h in callback.history]
    assert len(fids) == 3 and all(f >= 0 for f in fids)
    assert all("metrics/fid_raw" in h for h in callback.history)
    acc = EventAccumulator(cfg.paths.output_dir)
    acc.Reload()
    logged = [e.value for e in acc.Scalars("metrics/fid")]
    assert logged == pytest.approx(fids, rel=1e-6)
    best = torch.load(f"{cfg.paths.output_dir}/checkpoints/best.ckpt", weights_only=False)
    best_epoch = min(range(3), key=lambda i: fids[i])
    assert best["epoch"] == best_epoch
    assert "generator_ema.net.0.weight" in best["state_dict"]
    protocol = json.loads((Path(cfg.paths.output_dir) / "metrics_protocol.json").read_text())
    assert protocol["n_generated"] == 48 and protocol["n_real"] == 128 and protocol["generator"] == "ema"
    assert protocol["dataset"].startswith("SyntheticDataModule:train:32px")


def evaluate_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "src.evaluate", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "HYDRA_FULL_ERROR": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_evaluate_prints_one_json_line_and_writes_metrics_json(fid_run, tmp_path):
    cfg, _, weights = fid_run
    ckpt = f"{cfg.paths.output_dir}/checkpoints/last.ckpt"
    common = [
        "data=synthetic",
        "data.num_images=40",
        "batch_size=20",
        "kid_subsets=3",
        "kid_subset_size=16",
        "progress=false",
        f"metrics.weights_path={weights}",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "metrics.allow_download=false",
    ]
    result = evaluate_cli(f"ckpt_path={ckpt}", "n_samples=40", f"hydra.run.dir={tmp_path / 'ev'}", *common)
    assert result.returncode == 0, result.stderr[-2000:]
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["fid"] > 0 and line["is"] is None and "no logits" in line["protocol"]["is"]
    assert line["protocol"]["n_generated"] == 40 and line["protocol"]["n_real"] == 40
    assert line["protocol"]["generator"] == "ema"
    stored = json.loads((tmp_path / "run" / "checkpoints" / "metrics.json").read_text())
    assert stored["last.ckpt"]["fid"] == pytest.approx(line["fid"])

    floor = evaluate_cli("data_only=true", f"hydra.run.dir={tmp_path / 'floor'}", *common)
    assert floor.returncode == 0, floor.stderr[-2000:]
    floor_line = json.loads(floor.stdout.strip().splitlines()[-1])
    assert floor_line["protocol"]["evaluated"].startswith("SyntheticDataModule:test")
    assert 0 <= floor_line["fid"] < line["fid"]  # real test images are closer than 3 epochs of a tiny GAN
    assert (
        json.loads((tmp_path / "floor" / "metrics.json").read_text())["data_only"]["fid"] == floor_line["fid"]
    )


def test_evaluate_without_checkpoint_is_one_line():
    result = evaluate_cli("ckpt_path=/nowhere/x.ckpt")
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: ckpt_path='/nowhere/x.ckpt' is not a file")
    )


def test_generate_writes_grid_images_and_interpolation(fid_run, tmp_path):
    cfg, _, _ = fid_run
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        gen_cfg = compose(
            config_name="generate",
            overrides=[
                f"ckpt_path={cfg.paths.output_dir}/checkpoints/last.ckpt",
                "n_images=5",
                "grid_size=3",
            ],
        )
    with open_dict(gen_cfg):
        gen_cfg.paths.output_dir = str(tmp_path / "gen")
    out = generate(gen_cfg)
    assert out == tmp_path / "run" / "generated" / "last"
    assert sorted(p.name for p in (out / "images").glob("*.png")) == [f"{i:05d}.png" for i in range(5)]
    from torchvision.io import read_image

    grid = read_image(str(out / "grid.png"))
    strip = read_image(str(out / "interpolation.png"))
    assert grid.shape[1] == grid.shape[2] == 3 * 32 + 4 * 2  # 3x3 images with 2 px padding
    assert strip.shape[2] == 10 * 32 + 11 * 2 and strip.shape[1] == 8 * 32 + 9 * 2


def test_generate_takes_a_class_for_conditional_models_only(compose_cfg, tmp_path):
    cfg = compose_cfg("+experiment=smoke", "model=cdcgan", "trainer.max_epochs=1", *QUIET)
    with open_dict(cfg):
        cfg.model.generator.base_width = cfg.model.discriminator.base_width = 4
    train(cfg)
    ckpt = f"{cfg.paths.output_dir}/checkpoints/last.ckpt"
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        ok = compose(config_name="generate", overrides=[f"ckpt_path={ckpt}", "n_images=2", "class_label=3"])
        bad = compose(config_name="generate", overrides=[f"ckpt_path={ckpt}", "class_label=10"])
    for c in (ok, bad):
        with open_dict(c):
            c.paths.output_dir = str(tmp_path / "gen")
    assert (generate(ok) / "grid.png").is_file()
    with pytest.raises(ConfigError, match="class_label=10 is not allowed: use 0..9"):
        generate(bad)
