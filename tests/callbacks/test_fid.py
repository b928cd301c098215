"""FID during training (src/callbacks/fid.py): logged each epoch, the best checkpoint, the protocol."""

from __future__ import annotations

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.callbacks import FIDCallback
from src.metrics.prdc import prdc
from tests.helpers import FID_EPOCHS


def test_fid_is_logged_each_epoch_and_the_best_checkpoint_has_the_lowest(fid_run):
    (callback,) = [c for c in fid_run.trainer.callbacks if isinstance(c, FIDCallback)]
    fids = [h["metrics/fid"] for h in callback.history]
    assert len(fids) == FID_EPOCHS and all(f >= 0 for f in fids)
    assert all("metrics/fid_raw" in h and "metrics/kid" in h for h in callback.history)
    acc = EventAccumulator(str(fid_run.run_dir))
    acc.Reload()
    logged = [e.value for e in acc.Scalars("metrics/fid")]
    assert logged == pytest.approx(fids, rel=1e-6)
    best = torch.load(fid_run.run_dir / "checkpoints" / "best.ckpt", weights_only=False)
    best_epoch = min(range(FID_EPOCHS), key=lambda i: fids[i])
    assert best["epoch"] == best_epoch
    assert "generator_ema.net.0.weight" in best["state_dict"]
    protocol = json.loads((fid_run.run_dir / "metrics_protocol.json").read_text())
    assert protocol["n_generated"] == 32 and protocol["n_real"] == 64 and protocol["generator"] == "ema"
    assert protocol["prdc"].startswith("k=3, 32 real vs 32 generated pool3 features")
    assert protocol["dataset"].startswith("SyntheticDataModule:train:32px")


def test_precision_recall_density_coverage_are_logged_beside_fid_from_the_same_features(fid_run):
    """The callback's numbers are the ones src/metrics/prdc.py gives for those features (no second pass:
    the feature network is called only for the reference images and the FID samples)."""
    (callback,) = [c for c in fid_run.trainer.callbacks if isinstance(c, FIDCallback)]
    acc = EventAccumulator(str(fid_run.run_dir))
    acc.Reload()
    for name in ("precision", "recall", "density", "coverage"):
        values = [h[f"metrics/{name}"] for h in callback.history]
        assert all(0 <= v <= (1 / 3 * 32 if name == "density" else 1) for v in values), (name, values)
        assert [e.value for e in acc.Scalars(f"metrics/{name}")] == pytest.approx(values, rel=1e-6)
        assert all(f"metrics/{name}_raw" in h for h in callback.history)
    # the last evaluation was at the end of training: the same weights give the same features now
    features = callback._generated_features(fid_run.trainer, fid_run.trainer.lightning_module, ema=True)
    expected = prdc(callback.reference.kid_features[:32], features, k=3)
    assert {n: callback.history[-1][f"metrics/{n}"] for n in expected} == pytest.approx(expected)


def test_every_default_run_ends_with_an_fid_sized_for_its_device_and_says_its_cost_first(tmp_path, caplog):
    """On a CPU: FID-2k against 2,000 training images, at the end only; on a GPU: FID-10k every 5 epochs.
    Before training, one line says how many images the passes take and how long here."""
    from src.train import fit
    from tests.conftest import compose_into
    from tests.helpers import write_tiny_feature_network

    cpu, gpu = (compose_into(None, f"trainer={t}").callbacks.fid for t in ("cpu", "gpu"))
    assert (cpu.enabled, cpu.n_samples, cpu.n_real, cpu.every_n_epochs) == (True, 2000, 2000, None)
    assert (gpu.enabled, gpu.n_samples, gpu.n_real, gpu.every_n_epochs) == (True, 10000, None, 5)
    weights = write_tiny_feature_network(tmp_path / "tiny.pt")
    small = ["callbacks.fid.n_samples=32", "callbacks.fid.n_real=64", "callbacks.fid.kid.subset_size=16"]
    where = [f"metrics.weights_path={weights}", f"metrics.cache_dir={tmp_path / 'cache'}"]
    cfg = compose_into(tmp_path / "run", "+experiment=smoke", "callbacks=default", *small, *where)
    with caplog.at_level("INFO", logger="src.callbacks.fid"):
        trainer = fit(cfg)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("FID of")]
    assert line.startswith(
        "FID of 32 samples at the end: 96 images through the Inception network (64 of them"
    )
    assert "images/s here (callbacks=no_metrics turns it off)" in line
    assert (
        "metrics/fid" in trainer.callback_metrics
        and (tmp_path / "run" / "checkpoints" / "best.ckpt").exists()
    )


def test_the_end_of_training_fid_leaves_a_best_checkpoint(tmp_path, fid_run):
    """max_steps stops mid-epoch, before any epoch-end FID: the score at the end still gives best.ckpt."""
    from src.train import fit
    from tests.conftest import compose_into

    cfg = compose_into(
        tmp_path / "run",
        "+experiment=smoke",
        "callbacks=fid_small",
        "trainer.max_steps=3",  # the smoke epoch has 8 steps
        "trainer.enable_progress_bar=false",
        "callbacks.fid.n_samples=32",
        "callbacks.fid.n_real=64",
        "callbacks.fid.batch_size=16",
        "callbacks.fid.kid.subsets=2",
        "callbacks.fid.kid.subset_size=16",
        f"metrics.weights_path={fid_run.weights}",
        f"metrics.cache_dir={tmp_path / 'cache'}",
        "metrics.allow_download=false",
    )
    assert cfg.callbacks.fid.every_n_epochs is None
    trainer = fit(cfg)
    best = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=False)
    assert best["global_step"] == 3 == trainer.global_step
    assert float(trainer.callback_metrics["metrics/fid"]) >= 0


def test_more_real_images_than_the_data_holds_is_one_warning_and_fid_uses_them_all(tmp_path, caplog):
    """The CPU default (2,000 real images) on a share of the data set, or any n_real beyond it: one line
    names the value and the data, and the reference statistics are those of every image there is."""
    from src.train import fit
    from tests.conftest import compose_into
    from tests.helpers import write_tiny_feature_network

    weights = write_tiny_feature_network(tmp_path / "tiny.pt")
    fid = ["callbacks.fid.n_real=1000", "callbacks.fid.n_samples=32", "callbacks.fid.kid.subset_size=16"]
    where = [f"metrics.weights_path={weights}", f"metrics.cache_dir={tmp_path / 'cache'}"]
    cfg = compose_into(tmp_path / "run", "+experiment=smoke", "callbacks=default", *fid, *where)
    with caplog.at_level("WARNING", logger="src.metrics.scores"):
        fit(cfg)
    assert [r.getMessage() for r in caplog.records if r.name == "src.metrics.scores"] == [
        "callbacks.fid.n_real=1000 is more than the 128 images of SyntheticDataModule:train:32px: "
        "FID uses all 128"
    ]
    protocol = json.loads((tmp_path / "run" / "metrics_protocol.json").read_text())
    assert protocol["n_real"] == 128
