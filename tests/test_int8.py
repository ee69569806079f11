"""`hwnas export --int8 N`: an int8 model calibrated on the run's own train batches, checked in
ONNX Runtime, with its accuracy and latency on the card beside the float model's."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort

from hwnas.cli import main


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
