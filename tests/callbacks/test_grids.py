"""Sample grids (src/callbacks/grids.py): the same samples every epoch, one class per row."""

from __future__ import annotations

import torch

from src.callbacks.grids import SampleGrid
from src.core.pixels import to_unit_range
from src.gan import GAN

TINY_G = {"_target_": "src.models.DCGANGenerator", "latent_dim": 8, "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}
COND_G = {**TINY_G, "_target_": "src.models.ConditionalDCGANGenerator", "num_classes": 10}
COND_D = {**TINY_D, "_target_": "src.models.ProjectionDiscriminator", "num_classes": 10}


def test_row_labels_give_one_class_per_row():
    rows = SampleGrid("unused", grid_size=12).row_labels(10).view(12, 12)
    assert torch.equal(rows, (torch.arange(12) % 10).view(12, 1).expand(12, 12))


def test_conditional_grid_asks_the_model_for_one_class_per_row(monkeypatch):
    model = GAN(COND_G, COND_D)
    grid = SampleGrid("unused", grid_size=12, seed=5, ema=False, eval_mode=False)
    seen = {}

    def spy(n, seed=0, labels=None, **kwargs):
        seen.update(n=n, seed=seed, labels=labels, **kwargs)
        return torch.zeros(n, 3, 32, 32)

    monkeypatch.setattr(model, "sample", spy)
    grid.generate(model)
    assert (seen["n"], seen["seed"], seen["ema"], seen["eval_mode"]) == (144, 5, False, False)
    assert torch.equal(seen["labels"], grid.row_labels(10))


def test_grid_shows_the_same_samples_whenever_it_is_drawn():
    model = GAN(TINY_G, TINY_D)
    grid = SampleGrid("unused", grid_size=3, seed=9)
    first = grid.generate(model)
    assert torch.equal(first, grid.generate(model)) and torch.equal(first, model.sample(9, seed=9))
    assert not torch.equal(first, SampleGrid("unused", grid_size=3, seed=10).generate(model))


def test_unit_range_of_model_output_and_of_uint8():
    assert torch.equal(
        to_unit_range(torch.tensor([-2.0, -1.0, 0.0, 1.0])), torch.tensor([0.0, 0.0, 0.5, 1.0])
    )
    assert torch.equal(to_unit_range(torch.tensor([0, 255], dtype=torch.uint8)), torch.tensor([0.0, 1.0]))
