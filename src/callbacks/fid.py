"""FID and KID during training, against cached statistics of the training images.

Every `every_n_epochs` epochs (null: only at the end) and at the end, each rank generates its share
of the samples and computes their features; the features are all-gathered so that every rank
computes the same score (a metric computed on rank 0 alone would leave the others waiting in a
collective). The scores are logged as `metrics/fid`, `metrics/kid`, and from the same features
`metrics/precision`, `metrics/recall`, `metrics/density`, `metrics/coverage` (src/metrics/prdc.py; off
with `prdc_k: null`), for the EMA generator and, when asked, the raw one (`metrics/fid_raw`, ...), and
put in `trainer.callback_metrics`, where BestCheckpoint reads them (also after the end-of-training
score).

`enabled=false` (the default on a machine without a GPU, where the Inception pass runs at a few
images per second) keeps the callback in the run but makes it say so once and do nothing else.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from src.core.checks import boolean, positive_int
from src.core.files import write_atomically
from src.generative.module import GenerativeModule
from src.metrics.features import generator_features
from src.metrics.network import FeatureNetwork, MissingWeightsError, default_cache_dir, load_feature_network
from src.metrics.prdc import DEFAULT_K, PRDC_NAMES
from src.metrics.progress import format_duration
from src.metrics.reference import ReferenceStats, cached_at, reference_stats
from src.metrics.registry import score
from src.metrics.scores import check_prdc_k, check_sample_counts, real_images, scores

log = logging.getLogger(__name__)

KID = {"subsets": 100, "subset_size": 1000}  # Binkowski et al.'s protocol
WEIGHTS = {"weights_path": None, "cache_dir": None, "allow_download": True}  # conf/metrics/default.yaml

PROBE_IMAGES = 8  # real images timed through the network to say, before training, what FID will cost


class FIDCallback(L.Callback):
    """FID/KID of `n_samples` samples (EMA net, and the raw one with `raw`) every `every_n_epochs`
    epochs and at the end. `kid`: `{subsets, subset_size}`; `weights`: where the Inception weights come
    from, the `metrics` config group (`{weights_path, cache_dir, allow_download}`); `network`: a
    feature network to use instead (tests)."""

    def __init__(
        self,
        enabled: bool = True,
        every_n_epochs: int | None = 5,
        n_samples: int = 10_000,
        n_real: int | None = None,
        batch_size: int = 250,
        ema: bool = True,
        raw: bool = False,
        seed: int = 0,
        prdc_k: int | None = DEFAULT_K,
        kid: Mapping[str, int] | None = None,
        weights: Mapping[str, Any] | None = None,
        network: FeatureNetwork | None = None,
    ):
        self.enabled = boolean(enabled, "callbacks.fid.enabled")
        kid = {**KID, **(kid or {})}
        check_sample_counts(n_samples, kid["subset_size"], "callbacks.fid.")
        check_prdc_k(prdc_k, n_real, n_samples, "callbacks.fid.prdc_k")
        positive_int(kid["subsets"], "callbacks.fid.kid.subsets")
        if every_n_epochs is not None:
            positive_int(every_n_epochs, "callbacks.fid.every_n_epochs")
        positive_int(batch_size, "callbacks.fid.batch_size")
        if n_real is not None:
            positive_int(n_real, "callbacks.fid.n_real")
        self.every_n_epochs, self.n_samples, self.n_real = every_n_epochs, n_samples, n_real
        self.batch_size, self.ema, self.raw, self.seed, self.kid = batch_size, ema, raw, seed, kid
        self.prdc_k = prdc_k
        self.weights = {**WEIGHTS, **(weights or {})}
        self.cache_dir = Path(self.weights["cache_dir"]) if self.weights["cache_dir"] else default_cache_dir()
        self.network = network
        self.reference: ReferenceStats | None = None
        self.last_step = -1
        self.history: list[dict] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self.enabled:
            return
        if self.network is None:  # missing weights fail here, before training starts
            try:
                self.network = load_feature_network(**{**self.weights, "cache_dir": str(self.cache_dir)})
            except MissingWeightsError as err:
                raise MissingWeightsError(f"{err}; or train without FID: callbacks=no_metrics") from None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled:
            return
        self.network = self.network.to(pl_module.device).eval()
        datamodule = trainer.datamodule
        images = real_images(
            datamodule.images, self.n_real, "callbacks.fid.n_real", datamodule.describe(), at_most=True
        )
        check_prdc_k(self.prdc_k, len(images), self.n_samples, "callbacks.fid.prdc_k")  # the data's size
        name = datamodule.describe()
        if trainer.is_global_zero:
            self.say_cost(trainer, images, name, pl_module.device)

        def compute() -> ReferenceStats:
            return reference_stats(
                self.network,
                images,
                name,
                self.cache_dir,
                self.batch_size,
                pl_module.device,
                progress=trainer.is_global_zero,
            )

        if trainer.is_global_zero:
            self.reference = compute()  # fills the cache once
        trainer.strategy.barrier()
        if not trainer.is_global_zero:
            self.reference = compute()  # reads the cache that rank 0 wrote

    def say_cost(self, trainer: L.Trainer, images: Tensor, name: str, device: torch.device) -> None:
        """One line before training: how many images the FID passes take, and how long at the speed
        this machine runs the network (timed on a few images now)."""
        started = time.perf_counter()
        self.network(images[:PROBE_IMAGES].to(device))
        rate = min(PROBE_IMAGES, len(images)) / (time.perf_counter() - started)
        epochs, every = trainer.max_epochs, self.every_n_epochs
        evaluations = (epochs // every if every and epochs and epochs > 0 else 0) + 1
        generated = evaluations * self.n_samples * (2 if self.raw and trainer.lightning_module.has_ema else 1)
        real = 0 if cached_at(self.network, images, name, self.cache_dir)[1].is_file() else len(images)
        log.info(
            "FID of %s samples %s: %s images through the Inception network (%s of them real, then cached), "
            "about %s at %.1f images/s here (callbacks=no_metrics turns it off)",
            f"{self.n_samples:,}", f"every {every} epochs and at the end" if every else "at the end",
            f"{generated + real:,}", f"{real:,}", format_duration((generated + real) / rate), rate,
        )  # fmt: skip

    def _generated_features(self, trainer: L.Trainer, pl_module: GenerativeModule, ema: bool) -> Tensor:
        """Each rank scores its own slice of the sample indices; together they are the n_samples of
        one process, so the score does not depend on the number of ranks."""
        per_rank = math.ceil(self.n_samples / trainer.world_size)
        features, _ = generator_features(
            self.network,
            lambda start, count: pl_module.sample(count, self.seed, ema=ema, start=start),
            per_rank,
            self.batch_size,
            start=trainer.global_rank * per_rank,
            progress=trainer.is_global_zero,
        )
        if trainer.world_size > 1:
            features = trainer.strategy.all_gather(features).flatten(0, 1)
        return features

    def evaluate(self, trainer: L.Trainer, pl_module: GenerativeModule) -> dict[str, float]:
        """Scores of the current model, identical on every rank."""
        results: dict[str, float] = {}
        kinds = [("", self.ema and pl_module.has_ema)]
        if self.raw and pl_module.has_ema and self.ema:
            kinds.append(("_raw", False))
        for suffix, use_ema in kinds:
            features = self._generated_features(trainer, pl_module, use_ema)
            kid = self.kid["subsets"], self.kid["subset_size"]
            out = scores(features, None, self.reference, *kid, prdc_k=self.prdc_k)
            for name in ("fid", "kid", *(PRDC_NAMES if self.prdc_k else ())):
                results[score(name, raw=suffix == "_raw")] = out[name]
            protocol = {**out["protocol"], "latent_seed": self.seed}
        self.last_step = trainer.global_step
        self.history.append({"step": trainer.global_step, "epoch": trainer.current_epoch, **results})
        if trainer.is_global_zero:
            log.info("step %d: %s (%s)", trainer.global_step, results, json.dumps(protocol))
            self._record_protocol(trainer, protocol)
        return results

    def _record_protocol(self, trainer: L.Trainer, protocol: dict) -> None:
        """Write how the numbers were made next to them: metrics_protocol.json and a TensorBoard text."""
        if self.history[:-1]:
            return  # the protocol is the same for every evaluation of a run
        text = json.dumps({**protocol, "generator": "ema" if self.ema else "raw"}, indent=1)
        write_atomically(text, Path(trainer.default_root_dir) / "metrics_protocol.json")
        for logger in trainer.loggers:
            if hasattr(getattr(logger, "experiment", None), "add_text"):
                logger.experiment.add_text("metrics/protocol", f"```\n{text}\n```", trainer.global_step)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        if not self.enabled:
            return
        epoch = trainer.current_epoch + 1
        last_epoch = trainer.max_epochs is not None and epoch == trainer.max_epochs
        if (self.every_n_epochs and epoch % self.every_n_epochs == 0) or last_epoch:
            for name, value in self.evaluate(trainer, pl_module).items():
                pl_module.log(name, value, on_step=False, on_epoch=True, sync_dist=False)

    def on_train_end(self, trainer: L.Trainer, pl_module: GenerativeModule) -> None:
        if not self.enabled or self.last_step == trainer.global_step:
            return
        # stopped by max_steps between two evaluations: self.log is not allowed here, so the score goes
        # to the loggers directly and into callback_metrics, where BestCheckpoint (which runs after
        # every other callback) finds it
        results = self.evaluate(trainer, pl_module)
        for name, value in results.items():
            trainer.callback_metrics[name] = torch.tensor(value)
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics(results, step=trainer.global_step)
