"""The `hwnas` command end to end on the tiny space: search → retrain → export → predict/measure,
each stage reading only what the previous one wrote; and bad input is one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from hwnas.cli import main

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.log_every_n_steps", "1"]


@pytest.fixture(scope="module")
def run(tiny_space_path, tiny_table_path, tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(root / "search"),
                 "--model.space", str(tiny_space_path), "--model.table", str(tiny_table_path),
                 "--model.target_ms", "0.05", "--model.warmup_epochs", "1", "--trainer.max_epochs", "2",
                 "--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "1", *QUIET]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(root / "search/arch.json"),
                 "--run_dir", str(root / "retrain"), "--trainer.max_epochs", "2", *QUIET]) == 0
    assert main(["export", "--run", str(root / "retrain"), "--out", str(root / "export")]) == 0
    return root


def test_search_writes_arch_and_summary_in_the_run_folder(run):
    summary = json.loads((run / "search/search.json").read_text())
    fastest, slowest = summary["latency_range_ms"]
    assert fastest <= summary["predicted_ms"] <= slowest
    assert (run / "search/checkpoints/last.ckpt").is_file() and (run / "search/logs/metrics.csv").is_file()


def test_retrain_reports_a_test_accuracy(run):
    result = json.loads((run / "retrain/retrain.json").read_text())
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["search"]["target_ms"] == 0.05


def test_model_card_states_accuracy_target_predicted_and_measured_latency(run):
    card = json.loads((run / "export/model_card.json").read_text())
    latency = card["latency"]
    assert latency["target_ms"] == 0.05 and latency["predicted_ms"] > 0 and latency["measured_ms"] > 0
    assert card["checks"]["ort_vs_torch_max_abs_diff"] <= 1e-4
    assert card["accuracy"]["test"] == json.loads((run / "retrain/retrain.json").read_text())["test_accuracy"]


@pytest.mark.parametrize("name", ["model.onnx", "model.ort"])
def test_exported_files_run_in_onnx_runtime_with_any_batch(run, name):
    session = ort.InferenceSession(str(run / "export" / name), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": np.zeros((3, 1, 8, 8), np.float32)})
    assert logits.shape == (3, 10)


def test_predict_and_measure_print_milliseconds(run, tiny_table_path, capsys):
    assert main(["predict", "--arch", str(run / "search/arch.json"), "--table", str(tiny_table_path)]) == 0
    assert main(["measure", "--onnx", str(run / "export/model.onnx")]) == 0
    predicted, measured = capsys.readouterr().out.strip().splitlines()[-2:]
    assert "ms predicted" in predicted and "ms measured" in measured


def test_a_table_of_another_space_is_a_one_line_error(run, capsys):
    assert main(["predict", "--arch", str(run / "search/arch.json"), "--table", "latency_tables/demo-cpu.json"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "demo-cpu.json" in error and "hwnas profile" in error
