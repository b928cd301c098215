"""`python -m src.generate`: the grid, the single images and the interpolation strip of a checkpoint,
and a class for conditional models only."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig, open_dict
from torchvision.io import read_image

from src.core.errors import ConfigError
from src.generate import generate
from src.train import fit
from tests.conftest import compose_into


def generate_cfg(out_dir: Path | None, *overrides: str) -> DictConfig:
    return compose_into(out_dir, *overrides, config_name="generate")


def test_generate_writes_grid_images_and_interpolation(fid_run, tmp_path):
    cfg = generate_cfg(tmp_path / "gen", f"ckpt_path={fid_run.last_ckpt}", "n_images=5", "grid_size=3")
    out = generate(cfg)
    assert out == fid_run.run_dir / "generated" / "last"  # beside the run the checkpoint came from
    assert sorted(p.name for p in (out / "images").glob("*.png")) == [f"{i:05d}.png" for i in range(5)]
    grid = read_image(str(out / "grid.png"))
    strip = read_image(str(out / "interpolation.png"))
    assert grid.shape[1] == grid.shape[2] == 3 * 32 + 4 * 2  # 3x3 images with 2 px padding
    assert strip.shape[2] == 10 * 32 + 11 * 2 and strip.shape[1] == 8 * 32 + 9 * 2


def test_generate_refuses_a_class_for_an_unconditional_model_and_a_missing_checkpoint(fid_run, tmp_path):
    with pytest.raises(ConfigError, match=r"^class_label=3 is not allowed: use null \(this model is not"):
        generate(generate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", "class_label=3"))
    with pytest.raises(ConfigError, match=r"^ckpt_path='/nowhere.ckpt' is missing"):
        generate(generate_cfg(tmp_path, "ckpt_path=/nowhere.ckpt"))


def test_generate_takes_a_class_for_conditional_models_only(compose_cfg, tmp_path):
    cfg = compose_cfg(
        "+experiment=smoke",
        "model=cdcgan",
        "trainer.max_epochs=-1",
        "trainer.max_steps=2",
        "callbacks.samples=null",
        "trainer.enable_progress_bar=false",
    )
    with open_dict(cfg):
        cfg.model.generator.base_width = cfg.model.discriminator.base_width = 4
    fit(cfg)
    ckpt = f"{cfg.paths.output_dir}/checkpoints/last.ckpt"
    out = tmp_path / "gen"
    assert (
        generate(generate_cfg(None, f"ckpt_path={ckpt}", "n_images=2", "class_label=3", f"out_dir={out}"))
        == out
    )
    assert (out / "grid.png").is_file() and len(list((out / "images").glob("*.png"))) == 2
    with pytest.raises(ConfigError, match=r"class_label=10 is not allowed: use a whole number in 0\.\.9"):
        generate(generate_cfg(None, f"ckpt_path={ckpt}", "class_label=10"))


@pytest.mark.parametrize("config_name", ["generate", "evaluate"])
def test_generate_and_evaluate_log_beside_the_checkpoints_run_not_as_new_runs(tmp_path, config_name):
    """Their Hydra folder is <run>/<command>/<time>/ for a checkpoint of <run>/checkpoints/, without
    a .hydra/ that src.report would take for a training job."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from tests.helpers import CONFIG_DIR

    run = tmp_path / "runs" / "2026-01-01_00-00-00_smoke"
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name=config_name,
            overrides=[f"ckpt_path={run}/checkpoints/last.ckpt", f"paths.log_dir={tmp_path}"],
            return_hydra_config=True,
        )
    folder = Path(OmegaConf.select(cfg, "hydra.run.dir"))
    assert folder.parent == run / config_name and folder.is_dir()
    assert cfg.hydra.output_subdir is None


@pytest.mark.slow
def test_a_failed_generate_leaves_nothing_in_the_checkpoints_run(fid_run, tmp_path):
    """A bad value: one line, exit 2, and neither <run>/generate/<time>/ nor an empty <run>/generate/."""
    from tests.helpers import run_module

    before = sorted(p.name for p in fid_run.run_dir.iterdir())
    result = run_module("src.generate", f"ckpt_path={fid_run.last_ckpt}", "n_images=0")
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: n_images=0")
    assert sorted(p.name for p in fid_run.run_dir.iterdir()) == before


def test_a_huge_n_images_is_refused_with_its_size_and_time_before_anything_is_written(fid_run, tmp_path):
    cfg = generate_cfg(
        tmp_path, f"ckpt_path={fid_run.last_ckpt}", "n_images=1000000000", f"out_dir={tmp_path / 'g'}"
    )
    with pytest.raises(ConfigError) as err:
        generate(cfg)
    message = str(err.value)
    assert message.startswith("n_images=1000000000 is more than max_images=10000 (about ")
    assert " GB and " in message and message.endswith("here): raise max_images to allow it")
    assert not (tmp_path / "g").exists()


def test_generate_never_replaces_earlier_images(fid_run, tmp_path, caplog):
    caplog.set_level("INFO")
    first = generate(generate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", "n_images=2", "grid_size=2"))
    grid = (first / "grid.png").read_bytes()
    second = generate(generate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", "n_images=2", "seed=1"))
    assert second.parent == first.parent and second.name.startswith(f"{first.name.split('_')[0]}_")
    assert second != first and (first / "grid.png").read_bytes() == grid
    assert any(r.getMessage().startswith("writing 2 images to") for r in caplog.records)  # said up front
    with pytest.raises(ConfigError, match=r"already holds grid.png, images, interpolation.png: give another"):
        generate(generate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", f"out_dir={first}"))
    a_file = tmp_path / "a_file"
    a_file.write_text("mine")
    with pytest.raises(ConfigError, match=r"is a file: give a folder"):
        generate(generate_cfg(tmp_path, f"ckpt_path={fid_run.last_ckpt}", f"out_dir={a_file}"))
    assert a_file.read_text() == "mine"
