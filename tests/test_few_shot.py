"""Few-shot sub-supernets (search/few_shot.py): a parent's weights, trained on with one layer pinned."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.cli import main
from hwnas.records.search_checkpoint import load_search_checkpoint


def one_shot_search(folder, tiny_search_args, *options: str) -> int:
    return main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(folder), *tiny_search_args,
                 "--model.algorithm", "OneShotOnly", "--model.one_shot", "SinglePath", "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "0",
                 "--trainer.enable_progress_bar", "false", *options])


@pytest.fixture(scope="module")
def parent(tiny_search_args, tmp_path_factory):
    folder = tmp_path_factory.mktemp("parent")
    assert one_shot_search(folder, tiny_search_args) == 0
    return folder / "checkpoints/last.ckpt"


def test_a_sub_supernet_starts_from_its_parent_and_trains_only_its_op_in_the_split_layer(parent, tiny_search_args,
                                                                                          tiny_target_ms, tmp_path,
                                                                                          capsys):
    split = {"parent": str(parent), "layer": 0, "op": "mb_k7_e6"}
    assert one_shot_search(tmp_path, tiny_search_args, "--model.algorithm.split", json.dumps(split)) == 0
    before = load_search_checkpoint(parent).supernet.mixed_ops[0]
    after = load_search_checkpoint(tmp_path / "checkpoints/last.ckpt").supernet.mixed_ops[0]
    for name, old, new in zip(after.names, before.candidates, after.candidates):
        moved = any(not torch.equal(a, b) for a, b in zip(old.parameters(), new.parameters()))
        assert moved == (name == "mb_k7_e6"), name  # 4 steps, each of which drew any op in layer 0
    recorded = json.loads((tmp_path / "search.json").read_text())["settings"]["algorithm"]["split"]
    assert recorded == {**split, "parent": str(parent.resolve())}
    # it scores only its own archs: `hwnas select` over the whole space stops at the first other one, in one line
    assert main(["select", "--ckpt", str(tmp_path / "checkpoints/last.ckpt"), "--target_ms", str(tiny_target_ms)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and "holds only the archs with mb_k7_e6 in layer 0" in errors[0]
    assert not (tmp_path / "select").exists()


@pytest.mark.parametrize("split, options, says", [
    ({"layer": 3, "op": "mb_k7_e6"}, [], "--model.algorithm.split.layer is a searchable layer's index, 0-2, got 3"),
    ({"layer": 0, "op": "mb_k5_e6"}, [], "--model.algorithm.split.op 'mb_k5_e6' is not a candidate of layer 0: one of "
                                         "mb_k3_e1, mb_k7_e6, zero"),
    ({"layer": 0, "op": "zero"}, ["--model.one_shot", "Average"], "a one-shot rule that draws paths"),
])
def test_a_bad_split_is_one_line_and_exit_2_before_any_training(parent, tiny_search_args, tmp_path, capsys, split,
                                                                options, says):
    split = json.dumps({"parent": str(parent), **split})
    assert one_shot_search(tmp_path, tiny_search_args, "--model.algorithm.split", split, *options) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and says in errors[0]
    assert not (tmp_path / "checkpoints").exists()


def test_a_parent_of_another_space_is_refused(parent, tiny_search_args, tmp_path, capsys):
    """The demo recipe's own space and table: its weights do not fit the tiny space's layers."""
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "demo"),
                 "--model.algorithm", "OneShotOnly", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
                 "--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false"]) == 0
    split = {"parent": str(tmp_path / "demo/checkpoints/last.ckpt"), "layer": 0, "op": "zero"}
    assert one_shot_search(tmp_path / "sub", tiny_search_args, "--model.algorithm.split", json.dumps(split)) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and "its space is not --model.space" in errors[0]
