"""The HPARAMS tab is written through public TensorBoard API into the run's own folder."""

from __future__ import annotations

from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from src.utils.hparams import HPARAM_METRICS, log_hparams


def test_hparams_and_metric_columns_land_in_the_run_folder(tmp_path):
    logger = TensorBoardLogger(save_dir=str(tmp_path), name="", version="", default_hp_metric=False)
    cfg = OmegaConf.create(
        {"seed": 3, "model": {"lr_g": 2e-4, "generator": {"_target_": "x", "base_width": 8}}, "data": {}}
    )
    log_hparams(logger, cfg)
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
    assert values == {"seed": 3, "model.lr_g": 2e-4, "model.generator.base_width": 8}
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == list(HPARAM_METRICS)
    assert not accumulator.Tags()["scalars"]  # no placeholder values on the curves
