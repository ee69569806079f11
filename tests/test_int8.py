"""int8 deployment: `hwnas export --int8 N` (an int8 model calibrated on the run's own train
batches, checked in ONNX Runtime, its accuracy and latency on the card beside the float model's),
and int8 tables (`hwnas profile --precision int8`) that a search prices and an export judges."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.net.space import load_space
from hwnas.profile.kit import write_kit


def test_int8_export_states_its_accuracy_and_latency_beside_the_float_model(tiny_run, tmp_path):
    assert main(["export", "--run", str(tiny_run / "retrain"), "--out", str(tmp_path), "--int8", "2"]) == 0
    card = json.loads((tmp_path / "model_card.json").read_text())
    int8 = card["int8"]
    retrained = json.loads((tiny_run / "retrain/retrain.json").read_text())["test_accuracy"]
    assert int8["file"] == "model.int8.onnx" and int8["calibration_batches"] == 2
    assert abs(int8["float_test_accuracy"] - retrained) < 0.01  # the same test split, read again
    assert 0 <= int8["test_accuracy"] <= 1 and int8["measured_ms"] > 0
    assert {"QuantizeLinear", "DequantizeLinear"} <= {node.op_type for node in onnx.load(tmp_path / "model.int8.onnx").graph.node}
    session = ort.InferenceSession(str(tmp_path / "model.int8.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": np.zeros((2, 1, 8, 8), np.float32)})
    assert logits.shape == (2, 10)


def test_int8_export_of_a_run_without_its_config_is_one_line_and_writes_nothing(tiny_run, tmp_path, capsys):
    shutil.copytree(tiny_run / "retrain", tmp_path / "retrain", ignore=shutil.ignore_patterns("logs"))
    assert main(["export", "--run", str(tmp_path / "retrain"), "--out", str(tmp_path / "export"), "--int8", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "logs/config.yaml: no such config" in err[0]
    assert not (tmp_path / "export").exists()



@pytest.fixture(scope="module")
def int8_table_path(tiny_space_path, tmp_path_factory):
    """The tiny space profiled as int8 models, through the CLI."""
    path = tmp_path_factory.mktemp("int8") / "tiny-cpu-int8.json"
    assert main(["profile", "--space", str(tiny_space_path), "--precision", "int8", "--calibration_samples", "8",
                 "--out", str(path)]) == 0
    return path


def test_an_int8_kit_holds_quantized_models_and_says_its_precision(tiny_space_path, tmp_path):
    manifest = write_kit(load_space(tiny_space_path), tmp_path, device="cpu", precision="int8")
    assert manifest["device"]["precision"] == "int8"
    for model in manifest["models"].values():
        ops = {node.op_type for node in onnx.load(tmp_path / model["file"]).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops, model
        assert _ops_as_run(tmp_path / model["file"], tmp_path / "optimized.onnx").isdisjoint({"Conv", "Gemm"}), model


def _ops_as_run(path, optimized_path) -> set[str]:
    """The op types of `path` after ONNX Runtime's graph optimisations (what the timing runs)."""
    options = ort.SessionOptions()
    options.optimized_model_filepath = str(optimized_path)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return {node.op_type for node in onnx.load(optimized_path).graph.node}


def test_int8_profile_search_export_judges_the_int8_model(int8_table_path, tiny_space_path, quiet, tmp_path, capsys):
    table = load_table(int8_table_path)
    assert table.precision == "int8"
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "search"),
                 "--model.space", str(tiny_space_path), "--model.table", str(int8_table_path),
                 "--model.target_ms", str(table.latency_range_ms()[1]), "--model.derive.floor", "0",
                 "--model.one_shot.epochs", "1", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2",
                 "--trainer.limit_val_batches", "1", *quiet]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(tmp_path / "search/arch.json"),
                 "--run_dir", str(tmp_path / "retrain"), "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "2", *quiet]) == 0
    capsys.readouterr()
    assert main(["export", "--run", str(tmp_path / "retrain"), "--out", str(tmp_path / "export"), "--int8", "2"]) == 0
    assert "prices" not in capsys.readouterr().out  # table and deployment agree: no note
    card = json.loads((tmp_path / "export/model_card.json").read_text())
    latency = card["latency"]
    assert latency["precision"] == "int8" and latency["model"] == "model.int8.onnx"
    assert latency["measured_ms"] == card["int8"]["measured_ms"] != latency["measured_float_ms"]
    assert isinstance(latency["target_met"], bool) and latency["prediction_error_pct"] is not None

    assert main(["export", "--run", str(tmp_path / "retrain"), "--out", str(tmp_path / "float")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ") and "int8 models" in line]
    assert len(notes) == 1 and "--int8 N" in notes[0]
    latency = json.loads((tmp_path / "float/model_card.json").read_text())["latency"]
    assert latency["target_met"] is None and latency["measured_ms"] is None and latency["measured_float_ms"] > 0


def test_an_int8_export_on_a_float_table_says_which_model_is_judged(tiny_run, tmp_path, capsys):
    assert main(["export", "--run", str(tiny_run / "retrain"), "--out", str(tmp_path), "--int8", "1"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note: ") and "float32 mo" in line]
    assert len(notes) == 1
    latency = json.loads((tmp_path / "model_card.json").read_text())["latency"]
    assert latency["precision"] == "float32" and latency["model"] == "model.onnx"
    assert latency["measured_ms"] == latency["measured_float_ms"]
