"""Training runs of `src.train`: the CLI as a user types it (smoke run, sweeps, DDP, one-line errors),
and each model, loss and preset of the family for a few steps through `fit(cfg)`."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from omegaconf import open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.core.errors import USER_ERROR_EXIT
from src.gan import GAN
from src.gan.losses import LOSSES, Hinge
from src.report import report
from src.run.entry import run_task
from src.train import build, fit
from tests.conftest import compose_into
from tests.helpers import RecordStartStep, write_tiny_feature_network

SCALARS = {"loss/d", "loss/g", "loss/g_over_d", "grad_norm/g", "grad_norm/d", "lr/g", "lr/d"}
PROBABILITIES = {"D(x)", "D(G(z))"}  # BCE's D is a classifier
CRITIC = {
    "critic/real",
    "critic/fake",
    "critic/gap",
}  # hinge and Wasserstein critics score, they do not classify
QUIET = ["trainer.enable_progress_bar=false"]
TINY = [
    "+experiment=smoke",
    "trainer.max_epochs=-1",
    "trainer.max_steps=4",
    "trainer.log_every_n_steps=2",
    *QUIET,
]


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


# --- the command line, as a user types it


@pytest.mark.slow
def test_smoke_run_writes_scalars_images_samples_and_checkpoints_and_trains_the_loss_named(run_cli, tmp_path):
    run_dir = tmp_path / "smoke"
    result = run_cli("+experiment=smoke", "loss=hinge", f"hydra.run.dir={run_dir}", *QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr  # the known-harmless library messages are filtered
    assert "warn" not in console.lower() and "Tip:" not in console, console[-3000:]
    acc = events(run_dir)
    tags = acc.Tags()
    assert set(tags["scalars"]) >= SCALARS | CRITIC and not set(tags["scalars"]) & PROBABILITIES
    assert {"samples", "real"} <= set(tags["images"])
    losses = acc.Scalars("loss/d")
    # every 2nd of 16 batches (2 epochs x 8), plus the first step
    assert [e.step for e in losses] == [0, *range(1, 16, 2)]
    assert all(torch.isfinite(torch.tensor(e.value)) for e in losses)
    real, fake, gap = (acc.Scalars(f"critic/{k}")[-1].value for k in ("real", "fake", "gap"))
    assert gap == pytest.approx(real - fake, abs=1e-6)
    assert abs(acc.Scalars("lr/g")[-1].value - 2e-4) < 1e-9  # float32 in the event file
    assert "hparams" in str(acc.PluginTagToContent("hparams"))  # HPARAMS tab has the run's config
    samples = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert samples == ["epoch_0000.png", "epoch_0001.png", "final_step_0000016.png", "real.png"]
    ckpt_path = run_dir / "checkpoints" / "last.ckpt"
    ckpt = torch.load(ckpt_path, weights_only=False)
    assert ckpt["global_step"] == 16
    assert any(k.startswith("generator.") for k in ckpt["state_dict"])
    assert any(k.startswith("discriminator.") for k in ckpt["state_dict"])
    assert len(ckpt["optimizer_states"]) == 2
    # `loss=hinge` on the command line is the loss the module trained with, not only text in a file
    assert "loss: hinge" in (run_dir / ".hydra" / "config.yaml").read_text()
    trained = GAN.load_from_checkpoint(ckpt_path)
    assert trained.hparams.loss == "hinge" and trained.loss is Hinge


@pytest.mark.slow
def test_sweeps_make_one_folder_and_tensorboard_run_per_job_and_one_report(run_cli, tmp_path):
    """The experiment's own sweep (mlp_vs_dcgan: model=mlp_gan,dcgan) times one from the command line."""
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
        "model.latent_dim=8,12",
        f"hydra.sweep.dir={sweep_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    # the swept keys first (the command line's, then the experiment's sweeper params), keys shortened
    names = [
        f"{i}_latent_dim:{dim}+model:{model}+callbacks:no_metrics+batch_size:16+num_images:64"
        for i, (model, dim) in enumerate([("mlp_gan", 8), ("mlp_gan", 12), ("dcgan", 8), ("dcgan", 12)])
    ]
    assert [p.name[: len(n)] for p, n in zip(jobs, names)] == names
    for job in jobs:
        assert list(job.glob("events.out.tfevents.*")), f"no TensorBoard run in {job}"
        assert "loss/g" in events(job).Tags()["scalars"]

    rows, table = report(sweep_dir)
    assert [(r["model"], r["model.latent_dim"]) for r in rows] == [
        ("mlp_gan", "8"),
        ("mlp_gan", "12"),
        ("dcgan", "8"),
        ("dcgan", "12"),
    ]
    assert all(math.isfinite(r["loss/g"]) for r in rows)
    assert table.splitlines()[0].startswith("| job | status | model")
    checkpoints = [torch.load(job / "checkpoints" / "last.ckpt", weights_only=False) for job in jobs]
    assert [c["global_step"] for c in checkpoints] == [4] * 4  # the same budget for every job
    first_layers = [tuple(c["state_dict"]["generator.net.0.weight"].shape) for c in checkpoints]
    # a Linear layer (out, in), then a ConvTranspose2d (in, out, 4, 4): each job built its own model
    assert [s[1] if len(s) == 2 else s[0] for s in first_layers] == [8, 12, 8, 12]
    assert [len(s) for s in first_layers] == [2, 2, 4, 4]


@pytest.mark.slow
def test_ddp_on_two_cpu_processes_ends_with_identical_weights(run_cli, tmp_path):
    run_dir, weights = tmp_path / "ddp", tmp_path / "weights"
    network = write_tiny_feature_network(tmp_path / "tiny.pt")
    result = run_cli(
        "+experiment=smoke",
        "callbacks=default",  # with FID: every rank must take part, or the run hangs
        "callbacks.fid.enabled=true",
        "callbacks.fid.n_samples=32",
        "callbacks.fid.batch_size=16",
        "callbacks.fid.kid.subsets=2",
        "callbacks.fid.kid.subset_size=16",
        f"metrics.weights_path={network}",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "metrics.allow_download=false",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.sync_batchnorm=false",  # SyncBatchNorm needs GPUs
        "trainer.max_epochs=1",
        f"hydra.run.dir={run_dir}",
        "+callbacks.rank_weights._target_=tests.helpers.SaveRankWeights",
        f"+callbacks.rank_weights.dirpath={weights}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    start, rank0, rank1 = (
        torch.load(weights / name) for name in ("rank0_start.pt", "rank0_end.pt", "rank1_end.pt")
    )
    params = [k for k in rank0 if "running" not in k and "num_batches" not in k]
    assert params and all(torch.equal(rank0[k], rank1[k]) for k in params)
    assert all(not torch.equal(start[k], rank0[k]) for k in params)  # training moved every weight
    fid0, fid1 = (torch.load(weights / f"rank{r}_fid.pt") for r in (0, 1))
    assert fid0 == fid1 and fid0[0] and fid0[0][-1]["metrics/fid"] > 0  # same score on both ranks
    # each rank saw half of the 128 images per epoch: 4 batches of 16
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 4
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png"))  # written once, by rank 0


@pytest.mark.slow
def test_bad_input_exits_with_one_line_before_training(run_cli, tmp_path):
    run_dir = tmp_path / "bad"
    result = run_cli("+experiment=smoke", "model.latent_dim=0", f"hydra.run.dir={run_dir}")
    assert result.returncode == USER_ERROR_EXIT
    message = "model.latent_dim=0 is not allowed: use a whole number > 0"
    lines = result.stderr.strip().splitlines()
    assert lines[-1] == f"error: {message}"  # the user's line, whole, last
    assert [line for line in lines if line.startswith("error")] == [lines[-1]]  # and the only one
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()  # a run that failed before writing anything leaves no folder


def exit_line(cfg, capsys) -> str:
    """What the entry points print for a user error: exactly one line on stderr, and exit status 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run_task(fit, cfg)
    assert exit_.value.code == USER_ERROR_EXIT
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_empty_image_folder_exits_with_one_line(compose_cfg, tmp_path, capsys):
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    cfg = compose_cfg("trainer=cpu", "data=image_folder", f"data.path={tmp_path / 'imgs'}", *QUIET)
    line = exit_line(cfg, capsys)
    assert line.startswith(f"error: data.path={str(tmp_path / 'imgs')!r} holds no images")


def test_sync_batchnorm_on_cpu_is_refused_before_launch(compose_cfg, capsys):
    cfg = compose_cfg("+experiment=smoke", "trainer=ddp", "trainer.accelerator=cpu")
    line = exit_line(cfg, capsys)
    assert line.startswith("error: trainer.sync_batchnorm=true needs GPUs")
    assert not Path(cfg.paths.output_dir, "checkpoints").exists()


# --- fit(cfg): resuming, checkpoints, data.fraction


def test_resume_continues_at_the_saved_step(compose_cfg):
    cfg = compose_cfg("+experiment=smoke", "trainer.max_epochs=-1", "trainer.max_steps=8", *QUIET)
    first = fit(cfg)
    assert first.global_step == 8
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=False)["global_step"] == 8

    resumed_cfg = compose_cfg(
        "+experiment=smoke", "trainer.max_epochs=-1", "trainer.max_steps=12", f"ckpt_path={ckpt}", *QUIET
    )
    with open_dict(resumed_cfg):
        resumed_cfg.callbacks.recorder = {"_target_": "tests.helpers.RecordStartStep"}
    second = fit(resumed_cfg)
    (recorder,) = [cb for cb in second.callbacks if isinstance(cb, RecordStartStep)]
    assert recorder.start_step == 8
    assert second.global_step == 12


def test_last_checkpoint_is_written_every_epoch_and_periodic_ones_every_n(fid_run):
    """The shared 3-epoch run keeps a periodic checkpoint every 2 epochs (conftest), and the best."""
    assert fid_run.cfg.callbacks.periodic_checkpoint.every_n_epochs == 2
    folder = fid_run.run_dir / "checkpoints"
    names = sorted(p.name for p in folder.glob("*.ckpt"))
    assert names == ["best.ckpt", "epoch0001-step0000016.ckpt", "last.ckpt"]
    assert torch.load(folder / "last.ckpt", weights_only=False)["global_step"] == 24  # after epoch 3


def test_data_fraction_trains_on_the_subset(compose_cfg):
    cfg = compose_cfg(*TINY, "data.fraction=0.25", "trainer.max_steps=-1", "trainer.max_epochs=1")
    with open_dict(cfg):
        cfg.callbacks = {}
    trainer = fit(cfg)
    assert len(trainer.datamodule.images) == pytest.approx(0.25 * 128, abs=5)  # per-class rounding
    assert trainer.global_step == len(trainer.datamodule.images) // 16


# --- every model, loss and preset of the family trains a few steps and logs finite losses

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
    "sngan_resnet": ["model=sngan_resnet"],
    "biggan": ["model=biggan"],
    "sngan_resnet_wgan_gp": ["model=sngan_resnet", "loss=wgan_gp", "model.d_spectral_norm=false"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trains_with_finite_losses(compose_cfg, case):
    cfg = compose_cfg(*TINY, *CASES[case])
    trainer = fit(cfg)
    assert trainer.global_step == 4
    loss = cfg.model.loss
    assert trainer.lightning_module.loss is LOSSES[loss]
    logged = trainer.logged_metrics
    if loss == "bce":
        assert set(logged) >= PROBABILITIES and all(0 < float(logged[k]) < 1 for k in PROBABILITIES)
    elif loss in ("hinge", "wgan_gp"):
        assert set(logged) >= CRITIC and not PROBABILITIES & set(logged)
    for name in ("loss/d", "loss/g"):
        assert math.isfinite(float(logged[name])), f"{name} = {logged[name]}"
    assert ("loss/gp" in logged) == ("loss=wgan_gp" in CASES[case])
    if "loss/gp" in logged:
        assert math.isfinite(float(logged["loss/gp"])) and float(logged["loss/gp"]) >= 0


@pytest.mark.parametrize(
    "preset", ["sngan", "cdcgan", "wgan_gp", "sngan_resnet", "biggan", "biggan_diffaugment"]
)
def test_presets_train_at_smoke_size(compose_cfg, preset):
    cfg = compose_cfg(f"+experiment=[smoke,{preset}]", *TINY[1:])
    trainer = fit(cfg)
    assert trainer.global_step == 4
    assert all(math.isfinite(float(trainer.logged_metrics[k])) for k in ("loss/d", "loss/g"))


@pytest.mark.parametrize("model", ["sngan_resnet", "biggan"])
def test_the_resnet_gans_learn_in_a_few_steps(compose_cfg, tmp_path, model):
    """At smoke size (widths 8): every step is logged, the losses move and stay finite, G and D move."""
    start = build(compose_into(tmp_path / "start", *TINY, f"model={model}")).model  # the same seed
    cfg = compose_cfg(*TINY, f"model={model}", "trainer.log_every_n_steps=1")
    trained = fit(cfg).lightning_module.state_dict()
    for tag in ("loss/d", "loss/g"):
        values = [e.value for e in events(Path(cfg.paths.output_dir)).Scalars(tag)]
        assert len(values) == 4 and all(math.isfinite(v) for v in values) and len(set(values)) == 4, values
    for net in ("generator.", "discriminator."):
        initial = {k: v for k, v in start.state_dict().items() if k.startswith(net)}
        assert any(not torch.equal(v, trained[k]) for k, v in initial.items()), f"no {net} weight moved"
