"""The callback that logs the classifier metrics during GAN training (src/callbacks/classifier_metrics.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from src.callbacks import ClassifierMetricsCallback
from src.core.errors import ConfigError
from src.gan import GAN
from src.train import fit

TINY = [
    "+experiment=smoke",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=2",
    "trainer.enable_progress_bar=false",
    "callbacks.classifier_metrics.num_samples=64",
    "callbacks.classifier_metrics.batch_size=32",
]
CLASSIFIER_TAGS = ("metrics/fid_cnn", "metrics/class_entropy", "metrics/class_acc", "metrics/class_histogram")
TINY_G = {"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
COND_G = {**TINY_G, "_target_": "src.models.ConditionalDCGANGenerator", "num_classes": 10}
COND_D = {**TINY_D, "_target_": "src.models.ProjectionDiscriminator", "num_classes": 10}


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("model", ["cdcgan", "dcgan"])
def test_callback_logs_the_metrics_every_epoch(compose_cfg, classifier_ckpt, model):
    cfg = compose_cfg(*TINY, f"model={model}", f"callbacks.classifier_metrics.ckpt_path={classifier_ckpt}")
    fit(cfg)
    acc = events(Path(cfg.paths.output_dir))
    scalars = set(acc.Tags()["scalars"])
    assert {"metrics/fid_cnn", "metrics/class_entropy"} <= scalars
    assert ("metrics/class_acc" in scalars) == (model == "cdcgan")
    fid = acc.Scalars("metrics/fid_cnn")
    assert len(fid) == 1 and math.isfinite(fid[0].value) and fid[0].value > 0
    assert 0 <= acc.Scalars("metrics/class_entropy")[0].value <= math.log(10) + 1e-6
    assert "metrics/class_histogram" in acc.Tags()["histograms"]


def test_callback_is_off_without_a_checkpoint(fid_run):
    """The shared FID run has the default callbacks, whose classifier_metrics.ckpt_path is null."""
    assert fid_run.cfg.callbacks.classifier_metrics.ckpt_path is None
    (callback,) = [c for c in fid_run.trainer.callbacks if isinstance(c, ClassifierMetricsCallback)]
    assert callback.metrics is None and callback.last == {}
    acc = events(fid_run.run_dir)
    logged = set(acc.Tags()["scalars"]) | set(acc.Tags()["histograms"])
    assert "metrics/fid" in logged and not logged & set(CLASSIFIER_TAGS)


class SampleSpy:
    """Wraps a GAN's `sample`, recording the keyword arguments of each call."""

    def __init__(self, model: GAN):
        self.model, self.calls, self.sample = model, [], model.sample

    def __call__(self, n, seed=0, **kwargs):
        self.calls.append({"n": n, "seed": seed, **kwargs})
        return self.sample(n, seed, **kwargs)


@pytest.mark.parametrize("ema,eval_mode", [(True, True), (False, False)])
def test_generated_images_come_from_the_chosen_generator_and_mode(
    classifier_ckpt, monkeypatch, ema, eval_mode
):
    torch.manual_seed(0)
    model = GAN(TINY_G, TINY_D)
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(0.05 * torch.randn_like(p))  # G and its EMA differ
    spy = SampleSpy(model)
    monkeypatch.setattr(model, "sample", spy)
    callback = ClassifierMetricsCallback(
        classifier_ckpt, num_samples=10, batch_size=4, seed=7, ema=ema, eval_mode=eval_mode
    )
    images, labels = callback.generate(model)
    assert labels is None and tuple(images.shape) == (10, 3, 32, 32)
    assert [(c["n"], c["start"]) for c in spy.calls] == [(4, 0), (4, 4), (2, 8)]
    assert all(c["seed"] == 7 and c["ema"] is ema and c["eval_mode"] is eval_mode for c in spy.calls)
    if eval_mode:  # running statistics: the images do not depend on the batching
        assert torch.equal(images, spy.sample(10, 7, ema=ema))
        assert not torch.equal(images, spy.sample(10, 7, ema=not ema))


def test_a_conditional_generator_is_asked_for_every_class_in_turn(classifier_ckpt):
    model = GAN(COND_G, COND_D)
    callback = ClassifierMetricsCallback(classifier_ckpt, num_samples=25, batch_size=8)
    images, labels = callback.generate(model)
    assert torch.equal(labels, torch.arange(25) % 10)
    assert torch.equal(images, model.sample(25, callback.seed, labels=labels))


@pytest.mark.parametrize(
    "kwargs,named",
    [
        ({"every_n_epochs": 0}, "callbacks.classifier_metrics.every_n_epochs=0 is not allowed"),
        ({"num_samples": -1}, "callbacks.classifier_metrics.num_samples=-1 is not allowed"),
        ({"batch_size": 2.5}, "callbacks.classifier_metrics.batch_size=2.5 is not allowed"),
    ],
)
def test_bad_arguments_are_one_line_when_the_callback_is_built(classifier_ckpt, kwargs, named):
    with pytest.raises(ConfigError) as err:
        ClassifierMetricsCallback(classifier_ckpt, **kwargs)
    assert str(err.value).startswith(named) and "\n" not in str(err.value)
    with pytest.raises(
        ConfigError, match=r"^callbacks.classifier_metrics.ckpt_path='/no/such.ckpt' is missing"
    ):
        ClassifierMetricsCallback("/no/such.ckpt")
