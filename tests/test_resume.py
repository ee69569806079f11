"""A search interrupted and resumed from its last.ckpt (loaded with weights_only=True) ends with
the alphas, weights, buffers and arch of the uninterrupted run, bit for bit: the data order,
the sampled paths, the drop-path masks, the optimizer, scheduler and baseline states all come back."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.cli import main


def search(run_dir, search_args, options, *extra, exit_code: int = 0) -> None:
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(run_dir),
                 *search_args, "--model.one_shot.epochs", "2",
                 "--model.algorithm.arch_lr", "0.02", *options, "--trainer.max_epochs", "4",
                 "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "1", *extra]) == exit_code


def final_state(run_dir) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints/last.ckpt", weights_only=True)["state_dict"]


@pytest.mark.parametrize("options, stop_after", [([], 1), ([], 3), (["--model.algorithm", "Reinforce"], 3)],
                         ids=["in-warm-up", "in-search", "reinforce-in-search"])
def test_a_resumed_search_ends_where_an_uninterrupted_one_does(tiny_search_args, quiet, tmp_path, options,
                                                              stop_after):
    """4 epochs: 0-1 warm-up (drop path), 2-3 search. Interrupted after epoch `stop_after`."""
    tiny_search_args = [*tiny_search_args, *quiet]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    search(straight, tiny_search_args, options)
    search(resumed, tiny_search_args, options,  # stopped inside the warm-up, it refuses to write an arch (exit 2)
           "--trainer.callbacks+=cli_callbacks.StopAfterEpochs", "--trainer.callbacks.epochs", str(stop_after),
           exit_code=2 if stop_after < 2 else 0)
    interrupted = final_state(resumed)
    search(resumed, tiny_search_args, options, "--ckpt_path", str(resumed / "checkpoints/last.ckpt"))
    expected, got = final_state(straight), final_state(resumed)
    assert not torch.equal(interrupted["supernet.head.classifier.weight"], got["supernet.head.classifier.weight"])
    assert expected.keys() == got.keys()
    assert [key for key in expected if not torch.equal(expected[key], got[key])] == []
    assert json.loads((straight / "arch.json").read_text())["ops"] == json.loads((resumed / "arch.json").read_text())["ops"]
