"""A checkpoint write that fails half way (a full disk) leaves the previous checkpoint whole."""

from __future__ import annotations

import errno

import torch

from hwnas.cli import main
from hwnas.training import atomic_checkpoint


def fill_the_disk_after(saves: int, monkeypatch) -> None:
    """torch.save as the checkpoint writer calls it: `saves` calls succeed, then each writes a few
    bytes and fails as a full disk does."""
    real_save, calls = torch.save, []

    def save(obj, path):
        calls.append(path)
        if len(calls) <= saves:
            return real_save(obj, path)
        with open(path, "wb") as file:
            file.write(b"PK\x03\x04 half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(atomic_checkpoint.torch, "save", save)


def test_a_full_disk_during_a_search_keeps_the_last_whole_checkpoint(tiny_search_args, quiet, tmp_path,
                                                                    monkeypatch, capsys):
    fill_the_disk_after(2, monkeypatch)  # epoch 0's two checkpoints (epoch=0-step=2 and last) are written
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path), *tiny_search_args,
                 "--model.one_shot.epochs", "1", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2",
                 "--trainer.limit_val_batches", "1", *quiet]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ckpt: No space left on device: free some space" in err[0]
    checkpoints = tmp_path / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch=0-step=2.ckpt", "last.ckpt"]  # no temporary file
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 0
