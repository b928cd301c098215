"""From generated features and reference statistics to the numbers a paper reports."""

from __future__ import annotations

from torch import Tensor

from src.core.checks import whole
from src.metrics.distances import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    mean_and_covariance,
)
from src.metrics.reference import ReferenceStats

MIN_SAMPLES = 2  # a covariance needs two samples (one crashes inside the linear algebra library)


def check_sample_counts(n_samples: object, kid_subset_size: object, prefix: str = "") -> None:
    """Enough samples for a covariance, and KID subsets smaller than the sample set (equal subsets
    would all be the whole set: a standard deviation of rounding error reported as a spread)."""
    whole(n_samples, f"{prefix}n_samples", low=MIN_SAMPLES, note=" (FID needs a covariance)")
    whole(kid_subset_size, f"{prefix}kid.subset_size", 1, n_samples - 1, note=" (smaller than n_samples)")


def scores(
    fake: Tensor,
    fake_logits: Tensor | None,
    reference: ReferenceStats,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    is_splits: int = 10,
) -> dict:
    """FID, KID (mean, std), IS (or None where the network has no logits) and their protocol."""
    mu, sigma = mean_and_covariance(fake)
    kid, kid_std = kernel_inception_distance(reference.kid_features, fake, kid_subsets, kid_subset_size)
    if fake_logits is not None:
        is_mean, is_std = inception_score(fake_logits, is_splits)
        is_note = f"{is_splits} splits"
    else:
        is_mean = is_std = None
        is_note = "unavailable: the feature network has no logits (pool3 only)"
    fid = frechet_distance(mu, sigma, reference.mu.to(mu.device), reference.sigma.to(mu.device))
    return {
        "fid": fid,
        "kid": kid,
        "kid_std": kid_std,
        "is": is_mean,
        "is_std": is_std,
        "protocol": {
            **reference.protocol,
            "n_generated": len(fake),
            "kid": f"{kid_subsets} subsets of {min(kid_subset_size, len(fake), len(reference.kid_features))}",
            "is": is_note,
        },
    }
