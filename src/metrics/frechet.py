"""The Fréchet distance between two Gaussians, the core of FID-style metrics, in float64.

d^2 = ||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1^1/2 S2 S1^1/2)^1/2)

The cross term is computed from the symmetric matrix S1^1/2 S2 S1^1/2 by eigenvalues (eigh), which
is real and stable where scipy.linalg.sqrtm(S1 S2) can return complex noise for nearly singular
covariances (few samples, or features that are often zero after a ReLU).
"""

from __future__ import annotations

import numpy as np


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues -> 0)."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (the number FID reports)."""
    mu1, mu2 = np.asarray(mu1, dtype=np.float64), np.asarray(mu2, dtype=np.float64)
    sigma1, sigma2 = np.asarray(sigma1, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"shapes do not match: mu {mu1.shape}, {mu2.shape}; sigma {sigma1.shape}, {sigma2.shape}"
        )
    root1 = _sqrt_psd((sigma1 + sigma1.T) / 2)
    cross = root1 @ sigma2 @ root1
    cross_eigenvalues = np.linalg.eigvalsh((cross + cross.T) / 2)
    trace_sqrt = np.sqrt(np.clip(cross_eigenvalues, 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
