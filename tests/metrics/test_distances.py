"""FID, KID and IS from features (src/metrics/distances.py), against closed forms and scipy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from src.metrics.distances import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    mean_and_covariance,
)


def random_features(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64) / d**0.5
    return torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing + shift


def test_fid_of_a_set_against_itself_is_zero():
    mu, sigma = mean_and_covariance(random_features(400, 32, seed=0))
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-8


def test_fid_of_gaussians_matches_the_closed_form():
    d = 8
    mu1, mu2 = torch.zeros(d, dtype=torch.float64), torch.full((d,), 0.5, dtype=torch.float64)
    var1 = torch.linspace(0.5, 2.0, d, dtype=torch.float64)
    var2 = torch.linspace(1.0, 3.0, d, dtype=torch.float64)
    closed_form = ((mu1 - mu2) ** 2).sum() + (var1 + var2 - 2 * (var1 * var2).sqrt()).sum()
    assert frechet_distance(mu1, torch.diag(var1), mu2, torch.diag(var2)) == pytest.approx(
        float(closed_form), rel=1e-10
    )
    # the same from samples: a pure shift of one set by s in every dimension costs d * s^2
    a = random_features(20_000, d, seed=1)
    fid = frechet_distance(*mean_and_covariance(a), *mean_and_covariance(a + 0.5))
    assert fid == pytest.approx(d * 0.25, rel=1e-9)


def test_frechet_distance_of_one_dimensional_gaussians():
    # N(1, 2^2) vs N(4, 3^2): (1 - 4)^2 + (2 - 3)^2 = 10
    value = frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([4.0]), np.array([[9.0]]))
    assert isinstance(value, float) and value == pytest.approx(10.0)


def test_fid_matches_an_independent_scipy_computation():
    a, b = random_features(600, 24, seed=2), random_features(500, 24, seed=3, shift=0.3)
    ours = frechet_distance(*mean_and_covariance(a), *mean_and_covariance(b))
    x, y = a.numpy(), b.numpy()
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert ours == pytest.approx(reference, rel=1e-6)
    swapped = frechet_distance(*mean_and_covariance(b), *mean_and_covariance(a))
    assert swapped == pytest.approx(ours, rel=1e-9)  # a distance: symmetric in its two sets


def test_frechet_distance_copes_with_singular_covariances():
    rng = np.random.default_rng(1)
    low_rank = rng.normal(size=(5, 2))
    s = low_rank @ low_rank.T  # rank 2 of 5: what 128-d features of a few samples look like
    assert frechet_distance(np.zeros(5), s, np.zeros(5), s) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    a, b = random_features(1200, 16, seed=4).split(600)  # two samples of one distribution
    same, _ = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    different, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.05 and different > 10 * abs(same) + 0.1


def test_inception_score_bounds():
    assert inception_score(torch.zeros(100, 10), splits=2)[0] == pytest.approx(1.0)
    confident = torch.eye(10).repeat(10, 1) * 100  # every class equally often, each sure
    assert inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
