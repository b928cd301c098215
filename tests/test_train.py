"""End-to-end runs of `python -m src.train`, as a user types them."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import open_dict
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.train import train
from tests.helpers import RecordStartStep, write_tiny_feature_network

SCALARS = {
    "loss/d",
    "loss/g",
    "loss/g_over_d",
    "D(x)",
    "D(G(z))",
    "grad_norm/g",
    "grad_norm/d",
    "lr/g",
    "lr/d",
}
QUIET = ["trainer.enable_progress_bar=false"]


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_smoke_run_writes_scalars_images_samples_and_checkpoints(run_cli, tmp_path):
    run_dir = tmp_path / "smoke"
    result = run_cli("+experiment=smoke", f"hydra.run.dir={run_dir}", *QUIET)
    assert result.returncode == 0, result.stderr[-3000:]
    acc = events(run_dir)
    tags = acc.Tags()
    assert set(tags["scalars"]) >= SCALARS
    assert {"samples", "real"} <= set(tags["images"])
    losses = acc.Scalars("loss/d")
    assert [e.step for e in losses] == list(range(1, 16, 2))  # every 2nd of 16 batches (2 epochs x 8)
    assert all(torch.isfinite(torch.tensor(e.value)) for e in losses)
    assert 0 < acc.Scalars("D(x)")[-1].value < 1
    assert abs(acc.Scalars("lr/g")[-1].value - 2e-4) < 1e-9  # float32 in the event file
    assert "hparams" in str(acc.PluginTagToContent("hparams"))  # HPARAMS tab has the run's config
    samples = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert samples == ["epoch_0000.png", "epoch_0001.png", "final_step_0000016.png", "real.png"]
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["global_step"] == 16
    assert any(k.startswith("generator.") for k in ckpt["state_dict"])
    assert any(k.startswith("discriminator.") for k in ckpt["state_dict"])
    assert len(ckpt["optimizer_states"]) == 2


def test_resume_continues_at_the_saved_step(compose_cfg):
    cfg = compose_cfg("+experiment=smoke", "trainer.max_epochs=-1", "trainer.max_steps=8", *QUIET)
    first = train(cfg)
    assert first.global_step == 8
    ckpt = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert torch.load(ckpt, weights_only=False)["global_step"] == 8

    resumed_cfg = compose_cfg(
        "+experiment=smoke", "trainer.max_epochs=-1", "trainer.max_steps=12", f"ckpt_path={ckpt}", *QUIET
    )
    with open_dict(resumed_cfg):
        resumed_cfg.callbacks.recorder = {"_target_": "tests.helpers.RecordStartStep"}
    second = train(resumed_cfg)
    (recorder,) = [cb for cb in second.callbacks if isinstance(cb, RecordStartStep)]
    assert recorder.start_step == 8
    assert second.global_step == 12


def test_multirun_makes_one_folder_and_tensorboard_run_per_job(run_cli, tmp_path):
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "-m",
        "+experiment=smoke",
        "trainer.max_epochs=1",
        "model.latent_dim=8,12",
        f"hydra.sweep.dir={sweep_dir}",
        *QUIET,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == [
        "0_+experiment=smoke,model.latent_dim=8,trainer.enable_progress_bar=False,trainer.max_epochs=1",
        "1_+experiment=smoke,model.latent_dim=12,trainer.enable_progress_bar=False,trainer.max_epochs=1",
    ]
    for job in jobs:
        assert list(job.glob("events.out.tfevents.*")), f"no TensorBoard run in {job}"
        assert "loss/g" in events(job).Tags()["scalars"]


def test_ddp_on_two_cpu_processes_ends_with_identical_weights(run_cli, tmp_path):
    run_dir, weights = tmp_path / "ddp", tmp_path / "weights"
    network = write_tiny_feature_network(tmp_path / "tiny.pt")
    result = run_cli(
        "+experiment=smoke",
        "callbacks=default",  # with FID: every rank must take part, or the run hangs
        "callbacks.fid.n_samples=32",
        "callbacks.fid.batch_size=16",
        "callbacks.fid.kid_subsets=2",
        "callbacks.fid.kid_subset_size=16",
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


def test_bad_input_exits_with_one_line_before_training(run_cli, tmp_path):
    run_dir = tmp_path / "bad"
    result = run_cli("+experiment=smoke", "model.latent_dim=0", f"hydra.run.dir={run_dir}")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: model.latent_dim=0 is not allowed: use a whole number > 0"
    )
    assert "Traceback" not in result.stderr
    assert not (run_dir / "checkpoints").exists()


def test_empty_image_folder_exits_with_one_line(run_cli, tmp_path):
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    result = run_cli(
        "trainer=cpu",
        "data=image_folder",
        f"data.path={tmp_path / 'imgs'}",
        f"hydra.run.dir={tmp_path / 'r'}",
    )
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: data.path=") and "holds no images" in last


def test_sync_batchnorm_on_cpu_is_refused_before_launch(run_cli, tmp_path):
    result = run_cli(
        "+experiment=smoke", "trainer=ddp", "trainer.accelerator=cpu", f"hydra.run.dir={tmp_path / 'r'}"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: trainer.sync_batchnorm=true needs GPUs")


def test_unknown_experiment_names_the_choices(run_cli, tmp_path):
    result = run_cli("+experiment=nonexistent", f"hydra.run.dir={tmp_path / 'r'}")
    assert result.returncode != 0
    assert "experiment/nonexistent" in result.stderr and "lr_half" in result.stderr


def test_last_checkpoint_is_written_every_epoch_and_periodic_ones_every_n(compose_cfg):
    cfg = compose_cfg(
        "+experiment=smoke", "trainer.max_epochs=3", "callbacks.periodic_checkpoint.every_n_epochs=2", *QUIET
    )
    train(cfg)
    folder = Path(cfg.paths.output_dir) / "checkpoints"
    assert sorted(p.name for p in folder.glob("*.ckpt")) == ["epoch0001-step0000016.ckpt", "last.ckpt"]
    assert torch.load(folder / "last.ckpt", weights_only=False)["global_step"] == 24  # after epoch 3
