"""Folder names of runs and sweep jobs (src/run/naming.py): what ran, the swept keys first, short."""

from __future__ import annotations

import sys

from src.run import naming


def test_split_keeps_commas_inside_values():
    joined = "model.betas=[0.5,0.999],model.lr_g=0.001,+experiment=smoke"
    assert naming.split_overrides(joined) == [
        ("model.betas", "[0.5,0.999]"),
        ("model.lr_g", "0.001"),
        ("+experiment", "smoke"),
    ]


def test_a_run_is_named_by_its_experiment_and_its_short_overrides():
    assert naming.run_name("train", "") == "train"
    assert naming.run_name("lr_half", "+experiment=lr_half,model.latent_dim=50") == "lr_half_latent_dim:50"
    assert naming.run_name("train", "+experiment=mine") == "mine"  # an experiment without task_name
    # two keys that end the same stay whole
    both = "model.discriminator.base_width=8,model.generator.base_width=8"
    assert (
        naming.run_name("smoke", both)
        == "smoke_model.discriminator.base_width:8+model.generator.base_width:8"
    )
    # a value's brackets, commas and slashes never reach the folder name
    assert naming.run_name("smoke", "model.betas=[0.5,0.9]") == "smoke_betas:-0.5-0.9-"
    long = naming.run_name("train", ",".join(f"model.k{i}=123456789" for i in range(20)))
    assert len(long) == len("train_") + naming.MAX_NAME and long.endswith("...")


def test_a_sweep_job_puts_the_swept_keys_first(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["src.train", "-m", "data.batch_size=64", "model.lr_g=1e-4,2e-4"])
    assert naming.swept_keys() == ["model.lr_g"]
    assert naming.job_name("data.batch_size=64,model.lr_g=0.0001") == "lr_g:0.0001+batch_size:64"


def test_a_job_folder_can_be_given_back_on_the_command_line(monkeypatch):
    """`ckpt_path=<job folder>/...` must parse as one plain value for Hydra (no `=`, no `,`)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    monkeypatch.setattr(sys, "argv", ["src.train", "-m", "model.latent_dim=8,16"])
    short = naming.job_name("model.betas=[0.5,0.9],model.latent_dim=8,trainer.max_steps=2")
    cut = naming.run_name("train", ",".join(f"model.k{i}=123456789" for i in range(20)))  # shortened
    for name in (f"0_{short}", cut):
        (override,) = OverridesParser.create().parse_overrides(
            [f"ckpt_path=out/{name}/checkpoints/last.ckpt"]
        )
        assert override.value() == f"out/{name}/checkpoints/last.ckpt" and not override.is_sweep_override()
