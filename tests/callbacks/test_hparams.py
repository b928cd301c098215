"""The HPARAMS tab (the job's overrides first, then the course's knobs; the metrics that matter) and
hparams.yaml (the whole config) land in the run's own folder."""

from __future__ import annotations

import yaml
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from src.callbacks.hparams import log_hparams, run_hparams
from src.metrics.registry import COLUMNS

CFG = {
    "seed": 3,
    "model": {"lr_g": 2e-4, "latent_dim": 50, "generator": {"_target_": "x", "base_width": 8}},
    "data": {"batch_size": 64, "data_dir": "/data"},
}


def test_overridden_keys_come_first_then_the_main_knobs_and_locations_are_left_out():
    cfg = OmegaConf.create(CFG)
    overrides = [("model.generator.base_width", "8"), ("data.data_dir", "/data"), ("experiment", "smoke")]
    flat = run_hparams(cfg, overrides)
    assert list(flat) == [
        "model.generator.base_width",
        "experiment",
        "model.latent_dim",
        "model.lr_g",
        "data.batch_size",
        "seed",
    ]
    assert flat["model.generator.base_width"] == 8 and flat["experiment"] == "smoke"


def test_hparams_metric_columns_and_hparams_yaml_land_in_the_run_folder(tmp_path):
    logger = TensorBoardLogger(save_dir=str(tmp_path), name="", version="", default_hp_metric=False)
    log_hparams(logger, OmegaConf.create(CFG), [], [])
    logger.save()
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    content = accumulator.PluginTagToContent("hparams")
    assert set(content) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = {k: v.number_value or v.string_value for k, v in start.session_start_info.hparams.items()}
    assert values == {"seed": 3, "model.lr_g": 2e-4, "model.latent_dim": 50, "data.batch_size": 64}
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == list(COLUMNS)
    assert not accumulator.Tags()["scalars"]  # no placeholder values on the curves
    assert yaml.safe_load((tmp_path / "hparams.yaml").read_text()) == CFG  # the whole config, not {}


def test_the_swept_key_is_marked_as_differing_so_tensorboard_shows_it_first(tmp_path, monkeypatch):
    import sys

    from src.run.naming import swept_keys

    monkeypatch.setattr(sys, "argv", ["src.train", "-m", "model.latent_dim=50,100"])
    logger = TensorBoardLogger(save_dir=str(tmp_path), name="", version="", default_hp_metric=False)
    log_hparams(logger, OmegaConf.create(CFG), [("model.latent_dim", "50")], swept_keys())
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    content = accumulator.PluginTagToContent("hparams")["_hparams_/experiment"]
    infos = plugin_data_pb2.HParamsPluginData.FromString(content).experiment.hparam_infos
    assert [i.name for i in infos if i.differs] == ["model.latent_dim"]
    assert infos[0].name == "model.latent_dim"
