"""A failed run's folder is removed only when it holds nothing but Hydra's files (src/run/entry.py)."""

from __future__ import annotations

from src.run.entry import remove_if_unused


def test_only_a_folder_with_nothing_of_its_own_is_removed(tmp_path):
    empty = tmp_path / "failed"
    (empty / ".hydra").mkdir(parents=True)
    (empty / ".hydra" / "config.yaml").write_text("a: 1")
    (empty / "train.log").write_text("error")
    assert remove_if_unused(empty) and not empty.exists()

    kept = tmp_path / "resumed"
    (kept / ".hydra").mkdir(parents=True)
    (kept / "train.log").write_text("")
    (kept / "checkpoints").mkdir()
    (kept / "checkpoints" / "last.ckpt").write_bytes(b"weights")
    assert not remove_if_unused(kept)
    assert (kept / "checkpoints" / "last.ckpt").read_bytes() == b"weights"
