"""A space of FBNet's ops (a grouped 1×1 MBConv with a channel shuffle, an e3 MBConv, a skip that is
identity in one layer and projects in another) goes through every stage as the other spaces do:
profile, search, retrain, export (ONNX and .ort, checked against PyTorch) and validate-table."""

from __future__ import annotations

import json

from hwnas.cli import main
from hwnas.latency.table import load_table

TINY_FBNET = """\
name: tiny_fbnet
input: {resolution: 8, channels: 1}
num_classes: 10
stem: {channels: 8, stride: 1}
ops: [mb_k3_e1_g2, mb_k5_e3, skip]
stages:
  - {channels: 8, depth: 2, stride: 1}
  - {channels: 16, depth: 1, stride: 2}
head: {channels: 32}
"""


def test_a_space_of_fbnet_ops_profiles_searches_retrains_exports_and_validates(tmp_path, quiet):
    space, table = tmp_path / "tiny_fbnet.yaml", tmp_path / "tiny_fbnet-cpu.json"
    space.write_text(TINY_FBNET)
    assert main(["profile", "--space", str(space), "--out", str(table), "--calibration_samples", "8"]) == 0
    profiled = load_table(table)
    assert "skip 4x4x8->16 s2" not in profiled.entries and "skip 8x8x8->16 s2" in profiled.entries
    target = sum(profiled.latency_range_ms()) / 2
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "search"),
                 "--model.space", str(space), "--model.table", str(table), "--model.target_ms", str(target),
                 "--model.derive.floor", "0", "--model.derive.measure", "false", "--model.one_shot.epochs", "1",
                 "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "1",
                 *quiet]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(tmp_path / "search/arch.json"),
                 "--run_dir", str(tmp_path / "retrain"), "--trainer.max_epochs", "1", *quiet]) == 0
    assert main(["export", "--run", str(tmp_path / "retrain"), "--out", str(tmp_path / "export")]) == 0
    card = json.loads((tmp_path / "export/model_card.json").read_text())
    assert card["latency"]["predicted_ms"] <= target and card["latency"]["measured_ms"] > 0
    assert (tmp_path / "export/model.ort").is_file()
    assert main(["validate-table", str(table), "--samples", "3"]) == 0
    assert load_table(table).fidelity["samples"] == 3
