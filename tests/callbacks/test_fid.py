"""FID during training (src/callbacks/fid.py): logged each epoch, the best checkpoint, the protocol."""

from __future__ import annotations

import json

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.callbacks import FIDCallback
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
    assert protocol["dataset"].startswith("SyntheticDataModule:train:32px")
