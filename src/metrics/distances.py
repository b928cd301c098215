"""FID, KID and IS from features, in float64 (published FIDs are computed in float64 too)."""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.image.kid import poly_mmd


def mean_and_covariance(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean [d] and unbiased covariance [d, d] of features [n, d], in float64."""
    x = features.double()
    mu = x.mean(0)
    centered = x - mu
    return mu, centered.T @ centered / (x.shape[0] - 1)


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^1/2) for two Gaussians (Heusel et al., 2017).

    tr((S1 S2)^1/2) is the sum of the square roots of the eigenvalues of S1 S2, which are real and
    non-negative for covariance matrices (tiny negative or imaginary parts are rounding).
    Tensors or numpy arrays; all are taken as float64.
    """
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"shapes do not match: mu {tuple(mu1.shape)} vs {tuple(mu2.shape)}, "
            f"sigma {tuple(sigma1.shape)} vs {tuple(sigma2.shape)}"
        )
    eigenvalues = torch.linalg.eigvals(sigma1 @ sigma2)
    trace_sqrt = eigenvalues.sqrt().real.sum()
    value = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return float(value)


def kernel_inception_distance(
    real: Tensor, fake: Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (Binkowski et al., 2018): mean and std of the polynomial-kernel MMD over random subsets."""
    size = min(subset_size, len(real), len(fake))
    g = torch.Generator().manual_seed(seed)
    real, fake = real.double().to(fake.device), fake.double()
    values = torch.stack(
        [
            poly_mmd(
                real[torch.randperm(len(real), generator=g)[:size]],
                fake[torch.randperm(len(fake), generator=g)[:size]],
            )
            for _ in range(subsets)
        ]
    )
    return float(values.mean()), float(values.std())


def inception_score(logits: Tensor, splits: int = 10) -> tuple[float, float]:
    """IS (Salimans et al., 2016): exp(E[KL(p(y|x) || p(y))]) over `splits` chunks; mean and std."""
    probs = logits.double().softmax(dim=1)
    scores = []
    for chunk in probs.chunk(splits):
        marginal = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.clamp_min(1e-30).log() - marginal.clamp_min(1e-30).log())).sum(1)
        scores.append(kl.mean().exp())
    values = torch.stack(scores)
    return float(values.mean()), float(values.std() if len(values) > 1 else 0.0)
