"""Reference statistics of the real images (src/metrics/reference.py): cached, and recomputed when the
images change."""

from __future__ import annotations

import pytest
import torch

from src.metrics.network import TorchScriptPool3
from src.metrics.reference import reference_stats
from tests.helpers import write_tiny_feature_network


@pytest.fixture
def tiny_weights(tmp_path):
    return write_tiny_feature_network(tmp_path / "tiny.pt")


def test_reference_statistics_are_cached_and_invalidated(tiny_weights, tmp_path):
    network = TorchScriptPool3(tiny_weights)
    images = torch.randint(0, 256, (24, 3, 32, 32), dtype=torch.uint8)
    cpu = torch.device("cpu")
    first = reference_stats(network, images, "toy", tmp_path, batch_size=16, device=cpu)
    second = reference_stats(network, images, "toy", tmp_path, batch_size=16, device=cpu)
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.mu, second.mu) and first.mu.dtype == torch.float64
    changed = images.clone()
    changed[0, 0, 0, 0] ^= 1
    assert not reference_stats(network, changed, "toy", tmp_path, batch_size=16, device=cpu).from_cache
    assert not reference_stats(network, images[:20], "toy", tmp_path, batch_size=16, device=cpu).from_cache
    features, _ = network(images)
    assert torch.allclose(first.mu, features.double().mean(0), atol=1e-6)
