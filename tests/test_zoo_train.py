"""Each model, loss and preset of the family trains a few steps from its config and logs finite losses."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import open_dict

from src.report import report
from src.train import train

TINY = [
    "+experiment=smoke",
    "trainer.max_epochs=-1",
    "trainer.max_steps=4",
    "trainer.log_every_n_steps=2",
    "trainer.enable_progress_bar=false",
]

CASES = {
    "mlp_gan": ["model=mlp_gan"],
    "cdcgan": ["model=cdcgan"],
    "hinge": ["loss=hinge"],
    "lsgan": ["loss=lsgan"],
    "wgan_gp": ["loss=wgan_gp"],
    "mlp_wgan_gp": ["model=mlp_gan", "loss=wgan_gp"],
    "cdcgan_wgan_gp_sn_diffaugment": [
        "model=cdcgan",
        "loss=wgan_gp",
        "model.d_spectral_norm=true",
        "model.diffaugment='color,translation,cutout'",
    ],
    "diffaugment_half_data": ["model.diffaugment='color,translation,cutout'", "data.fraction=0.5"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trains_with_finite_losses(compose_cfg, case):
    cfg = compose_cfg(*TINY, *CASES[case])
    trainer = train(cfg)
    assert trainer.global_step == 4
    logged = trainer.logged_metrics
    for name in ("loss/d", "loss/g"):
        assert math.isfinite(float(logged[name])), f"{name} = {logged[name]}"
    assert ("loss/gp" in logged) == ("loss=wgan_gp" in CASES[case])
    if "loss/gp" in logged:
        assert math.isfinite(float(logged["loss/gp"])) and float(logged["loss/gp"]) >= 0


@pytest.mark.parametrize("preset", ["sngan", "cdcgan", "wgan_gp"])
def test_presets_train_at_smoke_size(compose_cfg, preset):
    cfg = compose_cfg(f"+experiment=[smoke,{preset}]", *TINY[1:])
    trainer = train(cfg)
    assert trainer.global_step == 4
    assert all(math.isfinite(float(trainer.logged_metrics[k])) for k in ("loss/d", "loss/g"))


def test_data_fraction_trains_on_the_subset(compose_cfg):
    cfg = compose_cfg(*TINY, "data.fraction=0.25", "trainer.max_steps=-1", "trainer.max_epochs=1")
    with open_dict(cfg):
        cfg.callbacks = {}
    trainer = train(cfg)
    assert len(trainer.datamodule.images) == pytest.approx(0.25 * 128, abs=5)  # per-class rounding
    assert trainer.global_step == len(trainer.datamodule.images) // 16


def test_cli_loss_hinge_and_mlp_vs_dcgan_sweep_with_report(run_cli, tmp_path):
    run_dir = tmp_path / "hinge"
    single = run_cli("+experiment=smoke", "loss=hinge", "trainer.max_epochs=1", f"hydra.run.dir={run_dir}")
    assert single.returncode == 0, single.stderr[-3000:]
    assert "loss: hinge" in (run_dir / ".hydra" / "config.yaml").read_text()

    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "-m",
        "+experiment=mlp_vs_dcgan",
        "data=synthetic",
        "trainer=cpu",
        "callbacks=no_metrics",  # no Inception weights in CI (FID has tests of its own)
        "data.num_images=64",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "trainer.log_every_n_steps=2",
        "trainer.enable_progress_bar=false",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows, table = report(sweep_dir)
    assert [r["model"] for r in rows] == ["mlp_gan", "dcgan"]
    assert all(math.isfinite(r["loss/g"]) for r in rows)
    checkpoints = [
        torch.load(p, weights_only=False) for p in sorted(sweep_dir.glob("*/checkpoints/last.ckpt"))
    ]
    assert [c["global_step"] for c in checkpoints] == [4, 4]  # the same budget for both
    first_layers = [c["state_dict"]["generator.net.0.weight"].ndim for c in checkpoints]
    assert first_layers == [2, 4]  # a Linear layer, then a ConvTranspose2d: each job built its own model
    assert table.splitlines()[0].startswith("| job | model |")
