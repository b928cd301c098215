"""Samples depend only on (seed, index): the same image at any batch size, in generate and evaluate."""

from __future__ import annotations

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict
from torchvision.io import read_image

from src.gan import GAN
from src.generate import generate
from src.generative.noise import CHUNK, index_normal, index_randint
from src.metrics.features import batch_ranges, generator_features
from tests.helpers import CONFIG_DIR, TinyFeatures

DIM = 8


def test_codes_of_an_index_do_not_depend_on_where_the_batch_starts_or_ends():
    whole = index_normal(3, 0, 2 * CHUNK + 50, (DIM,))
    pieces = torch.cat([index_normal(3, s, c, (DIM,)) for s, c in batch_ranges(2 * CHUNK + 50, 37)])
    assert torch.equal(whole, pieces)
    assert torch.equal(index_normal(3, CHUNK - 5, 10, (DIM,)), whole[CHUNK - 5 : CHUNK + 5])
    assert not torch.equal(index_normal(4, 0, 10, (DIM,)), whole[:10])  # another seed, other codes
    assert whole.mean().abs() < 0.05 and (whole.std() - 1).abs() < 0.05  # standard normal


def test_labels_are_drawn_per_index_and_cover_every_class():
    labels = index_randint(0, 0, 3000, 10)
    assert torch.equal(labels[1000:1100], index_randint(0, 1000, 100, 10))
    assert set(labels.tolist()) == set(range(10))
    assert torch.bincount(labels, minlength=10).min() > 200  # about 300 each


def tiny_gan(**kwargs) -> GAN:
    torch.manual_seed(0)
    g = {"_target_": "src.models.DCGANGenerator", "latent_dim": DIM, "base_width": 4}
    d = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
    return GAN(generator=g, discriminator=d, latent_dim=DIM, **kwargs).eval()


def test_sample_i_is_the_same_image_at_any_batch_size():
    model = tiny_gan()
    whole = model.sample(20, seed=5)
    parts = torch.cat([model.sample(c, seed=5, start=s) for s, c in batch_ranges(20, 6)])
    assert torch.equal(whole, parts)
    assert not torch.equal(model.sample(20, seed=6), whole)


def test_feature_pass_is_bit_identical_at_two_batch_sizes():
    model, network = tiny_gan(), TinyFeatures().eval()

    def features(batch_size: int) -> torch.Tensor:
        sample = lambda start, count: model.sample(count, 0, start=start)  # noqa: E731
        feats, _ = generator_features(lambda x: (network(x.float()), None), sample, 30, batch_size)
        return feats

    assert torch.equal(features(4), features(7))


def test_generate_writes_the_images_that_evaluate_scores(tmp_path):
    model = tiny_gan()
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    import lightning as L

    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False, max_steps=0)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(ckpt)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="generate", overrides=[f"ckpt_path={ckpt}", "n_images=12", "grid_size=2"])
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "gen")
    out = generate(cfg)
    expected = ((model.sample(12, seed=cfg.seed).clamp(-1, 1) + 1) / 2 * 255).round().to(torch.uint8)
    for i in (0, 5, 11):  # saved as 8-bit PNG: compare within one level of rounding
        written = read_image(str(out / "images" / f"{i:05d}.png"))
        assert (written.int() - expected[i].int()).abs().max() <= 1, i


@pytest.mark.parametrize("conditional", [False, True])
def test_conditional_samples_draw_their_labels_per_index(conditional):
    if not conditional:
        with pytest.raises(ValueError, match="not class-conditional"):
            tiny_gan().sample(2, labels=3)
        return
    torch.manual_seed(0)
    g = {"_target_": "src.models.ConditionalDCGANGenerator", "latent_dim": DIM, "base_width": 4}
    d = {"_target_": "src.models.ProjectionDiscriminator", "base_width": 4}
    model = GAN(generator=g, discriminator=d).eval()
    assert torch.equal(model.sample(10, seed=1), torch.cat([model.sample(5, 1), model.sample(5, 1, start=5)]))
    three = model.sample(4, seed=1, labels=3)
    assert not torch.equal(three, model.sample(4, seed=1, labels=4))
