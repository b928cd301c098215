"""From generated features and reference statistics to the numbers a paper reports."""

from __future__ import annotations

import logging

from torch import Tensor

from src.core.checks import whole
from src.core.errors import ConfigError
from src.metrics.distances import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    mean_and_covariance,
)
from src.metrics.prdc import DEFAULT_K, PRDC_NAMES, prdc
from src.metrics.reference import REAL_FEATURES, ReferenceStats

log = logging.getLogger(__name__)

MIN_SAMPLES = 2  # a covariance needs two samples (one crashes inside the linear algebra library)


def check_sample_counts(n_samples: object, kid_subset_size: object, prefix: str = "") -> None:
    """Enough samples for a covariance, and KID subsets smaller than the sample set (equal subsets
    would all be the whole set: a standard deviation of rounding error reported as a spread)."""
    whole(n_samples, f"{prefix}n_samples", low=MIN_SAMPLES, note=" (FID needs a covariance)")
    whole(kid_subset_size, f"{prefix}kid.subset_size", 1, n_samples - 1, note=" (smaller than n_samples)")


def real_images(images: Tensor, limit: int | None, key: str, data: str, at_most: bool = False) -> Tensor:
    """The first `limit` of `images` (all with None). A limit beyond the data set is one line: an error,
    or with `at_most` (a default sized for the full data set, run on a share of it) a warning, and all."""
    if limit is not None and limit > len(images) and at_most:
        log.warning(
            "%s=%d is more than the %d images of %s: FID uses all %d",
            key,
            limit,
            len(images),
            data,
            len(images),
        )
    elif limit is not None and limit > len(images):
        raise ConfigError(
            f"{key}={limit} is more than the {len(images)} images of {data}: use {key} <= {len(images)} "
            "(null: all of them)"
        )
    return images if limit is None else images[:limit]


def check_prdc_k(k: object, n_real: int | None, n_fake: int, key: str) -> None:
    """k of precision/recall/density/coverage (None: off) leaves k neighbours on both sides."""
    if k is not None:
        n = min(REAL_FEATURES if n_real is None else min(n_real, REAL_FEATURES), n_fake)
        whole(k, key, 1, n - 1, note=" (fewer than the real and generated samples compared)")


def prdc_counts(reference: ReferenceStats, n_fake: int) -> int:
    """Samples on each side of precision/recall/density/coverage: as many generated as real features
    (the kept real features, at most 10,000, and the first generated ones), as the papers compare."""
    return min(len(reference.kid_features), n_fake)


def scores(
    fake: Tensor,
    fake_logits: Tensor | None,
    reference: ReferenceStats,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
    prdc_k: int | None = DEFAULT_K,
) -> dict:
    """FID, KID (mean, std), IS (or None where the network has no logits), precision, recall,
    density and coverage (None with prdc_k=None), and their protocol: all from the same features."""
    mu, sigma = mean_and_covariance(fake)
    kid, kid_std = kernel_inception_distance(reference.kid_features, fake, kid_subsets, kid_subset_size)
    if fake_logits is not None:
        is_mean, is_std = inception_score(fake_logits, is_splits)
        is_note = f"{is_splits} splits"
    else:
        is_mean = is_std = None
        is_note = "unavailable: the feature network has no logits (pool3 only)"
    fid = frechet_distance(mu, sigma, reference.mu.to(mu.device), reference.sigma.to(mu.device))
    n = prdc_counts(reference, len(fake))
    if prdc_k is None:
        fidelity, prdc_note = dict.fromkeys(PRDC_NAMES), "off"
    else:
        fidelity = prdc(reference.kid_features[:n], fake[:n], prdc_k, "prdc_k")
        prdc_note = f"k={prdc_k}, {n} real vs {n} generated pool3 features (Kynkaenniemi 2019, Naeem 2020)"
    return {
        "fid": fid,
        "kid": kid,
        "kid_std": kid_std,
        "is": is_mean,
        "is_std": is_std,
        **fidelity,
        "protocol": {
            **reference.protocol,
            "n_generated": len(fake),
            "kid": f"{kid_subsets} subsets of {min(kid_subset_size, len(fake), len(reference.kid_features))}",
            "is": is_note,
            "prdc": prdc_note,
        },
    }
