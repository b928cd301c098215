"""Precision, recall, density and coverage (src/metrics/prdc.py) on cases whose answers are known."""

from __future__ import annotations

import math

import pytest
import torch

from src.core.errors import ConfigError
from src.metrics import prdc as prdc_module
from src.metrics.prdc import knn_radii, prdc


def reference_prdc(real: torch.Tensor, fake: torch.Tensor, k: int) -> dict[str, float]:
    """The papers' definitions with whole distance matrices in float64 (Naeem et al.'s reference code)."""
    real, fake = real.double(), fake.double()
    rr, ff, fr = torch.cdist(real, real), torch.cdist(fake, fake), torch.cdist(fake, real)
    r_real = rr.sort(dim=1).values[:, k]  # column 0 is the point itself
    r_fake = ff.sort(dim=1).values[:, k]
    inside_real = fr <= r_real[None, :]  # [fake, real]
    return {
        "precision": inside_real.any(1).double().mean().item(),
        "recall": (fr.transpose(0, 1) <= r_fake[None, :]).any(1).double().mean().item(),
        "density": inside_real.double().sum(1).mean().item() / k,
        "coverage": inside_real.any(0).double().mean().item(),
    }


def mixture(n_per_mode: int, modes: range, seed: int) -> torch.Tensor:
    """Samples of a mixture of 10 well-separated unit Gaussians in the plane, on a circle of radius 50."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(10) * 2 * math.pi / 10
    centres = 50 * torch.stack([angles.cos(), angles.sin()], dim=1)
    return torch.cat([centres[m] + torch.randn(n_per_mode, 2, generator=g) for m in modes])


def test_identical_sets_are_perfect():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(1))
    scores = prdc(x, x.clone(), k=3)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
    # each sample lies in its own ball and in those of the k points it is a neighbour of, on average
    assert scores["density"] == pytest.approx(4 / 3)


def test_disjoint_sets_score_zero():
    real = torch.randn(200, 16, generator=torch.Generator().manual_seed(1))
    scores = prdc(real, real + 1000.0, k=3)
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_a_generator_that_covers_half_the_modes_has_full_precision_and_half_recall():
    """Against a generator of the whole mixture (whose scores show what k-NN balls reach with these
    sample counts), one of modes 0-4 only, as many samples a mode, keeps the precision and density and
    halves recall and coverage."""
    real = mixture(200, range(10), seed=1)
    whole = prdc(real, mixture(400, range(10), seed=2), k=3)
    half = prdc(real, mixture(400, range(5), seed=3), k=3)
    assert whole["precision"] > 0.95 and whole["recall"] > 0.95  # the estimate works here
    assert half["precision"] == pytest.approx(whole["precision"], abs=0.02)  # every sample looks real
    assert half["density"] == pytest.approx(1.0, abs=0.1)  # and sits as densely as the real data
    assert half["recall"] == pytest.approx(whole["recall"] / 2, abs=0.03)  # but half the data is missed
    assert half["coverage"] == pytest.approx(whole["coverage"] / 2, abs=0.03)


def test_matches_the_papers_definitions_at_any_chunk_size(monkeypatch):
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(230, 12, generator=g), 1.2 * torch.randn(170, 12, generator=g) + 0.3
    expected = reference_prdc(real, fake, k=5)
    for chunk in (7, 64, 4096):
        monkeypatch.setattr(prdc_module, "CHUNK", chunk)
        got = prdc(real, fake, k=5)
        assert got == pytest.approx(expected, abs=1e-6), chunk
    assert 0 < expected["precision"] < 1 and 0 < expected["recall"] < 1


def test_radii_are_the_kth_neighbour_distances():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert torch.equal(knn_radii(x, 1), torch.tensor([1.0, 1.0, 2.0, 4.0]))
    assert torch.equal(knn_radii(x, 2), torch.tensor([3.0, 2.0, 3.0, 6.0]))


@pytest.mark.parametrize("k", [0, -1, 50, 2.5, True])
def test_k_outside_one_to_the_sample_count_is_one_line(k):
    with pytest.raises(ConfigError) as err:
        prdc(torch.randn(50, 4), torch.randn(60, 4), k=k, name="callbacks.fid.prdc_k")
    message = str(err.value)
    assert message.startswith(f"callbacks.fid.prdc_k={k!r} is not allowed: use a whole number in 1..49")
    assert "\n" not in message
