"""The `hwnas` command end to end on the tiny space: search → retrain → export → predict/measure,
each stage reading only the arch.json record the previous one wrote (derive and select too);
and bad input is one line, exit 2."""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.latency.table_ref import TableRef, prediction_hash

def test_search_writes_arch_and_summary_in_the_run_folder(tiny_run):
    summary = json.loads((tiny_run / "search/search.json").read_text())
    fastest, slowest = summary["latency_range_ms"]
    assert fastest <= summary["predicted_ms"] <= slowest
    assert (tiny_run / "search/checkpoints/last.ckpt").is_file() and (tiny_run / "search/logs/metrics.csv").is_file()


def test_search_records_where_its_arch_came_from(tiny_run, tiny_table_path, tiny_target_ms):
    """arch.json v2: stage, checkpoint, table (absolute path, content hash, device), target,
    predicted and measured latency (the tiny table was profiled on this machine), the argmax beside it."""
    record = json.loads((tiny_run / "search/arch.json").read_text())
    provenance = record["provenance"]
    assert record["version"] == 3 and provenance["stage"] == "search"
    assert provenance["checkpoint"] == str((tiny_run / "search/checkpoints/last.ckpt").resolve())
    assert provenance["table"]["path"] == str(tiny_table_path.resolve())
    assert provenance["table"]["sha256"] == prediction_hash(json.loads(tiny_table_path.read_text()))
    assert provenance["target_ms"] == tiny_target_ms
    assert 0.9 * tiny_target_ms <= provenance["tries"][0]["predicted_ms"] <= tiny_target_ms
    assert provenance["measured_ms"] > 0 and 1 <= len(provenance["tries"]) <= 3
    assert len(provenance["argmax"]["ops"]) == len(record["ops"])


def test_search_summary_says_how_decided_the_distribution_is(tiny_run):
    decided = json.loads((tiny_run / "search/search.json").read_text())["decision"]
    assert 0 < decided["min_top_probability"] <= 1 and len(decided["normalized_entropy"]) == 3


def test_retrain_reports_a_test_accuracy_and_carries_the_record_on(tiny_run):
    result = json.loads((tiny_run / "retrain/retrain.json").read_text())
    assert 0.0 <= result["test_accuracy"] <= 1.0
    searched, retrained = (json.loads((tiny_run / f"{stage}/arch.json").read_text()) for stage in ("search", "retrain"))
    assert retrained == searched


def test_model_card_states_accuracy_target_predicted_and_measured_latency(tiny_run, tiny_target_ms):
    card = json.loads((tiny_run / "export/model_card.json").read_text())
    latency = card["latency"]
    assert latency["target_ms"] == tiny_target_ms and latency["predicted_ms"] > 0 and latency["measured_ms"] > 0
    # judged in the table's speed state: each run's raw median over its anchors' speed now, the median of the runs
    runs = latency["measured"]["runs"]
    assert len(runs) == 3 and latency["measured_at_table_speed_ms"] == pytest.approx(
        statistics.median(run["median_ms"] / run["speed_now"] for run in runs))
    assert latency["target_met"] == (0.9 * tiny_target_ms <= latency["measured_at_table_speed_ms"] <= tiny_target_ms)
    # the error the card states is of the figure target_met judges
    assert latency["prediction_error_pct"] == pytest.approx(
        (latency["predicted_ms"] / latency["measured_at_table_speed_ms"] - 1) * 100)
    assert latency["prediction_error_pct"] is not None and card["provenance"]["stage"] == "search"
    assert card["checks"]["ort_vs_torch_max_abs_diff"] <= 1e-4
    assert card["accuracy"]["test"] == json.loads((tiny_run / "retrain/retrain.json").read_text())["test_accuracy"]


def test_the_shipped_ort_runs_about_as_fast_as_the_onnx(tiny_run):
    """Saved after basic optimisations only, the demo's .ort ran 9x slower than its .onnx while the
    card reported the .onnx alone. Both are measured side by side now (a loose bound: tiny nets, and a
    busy machine moves their ratio by ~10%, so which file the advice names is not asserted), and the
    advice states the ratio of the two figures the card gives."""
    latency = json.loads((tiny_run / "export/model_card.json").read_text())["latency"]
    ratio = latency["measured_ort_ms"] / latency["measured_ms"]
    stated = float(re.search(r"model\.ort runs at ([\d.]+)x", latency["deploy"]).group(1))
    assert ratio < 1.5 and stated == pytest.approx(ratio, abs=0.06)


@pytest.mark.parametrize("name", ["model.onnx", "model.ort"])
def test_exported_files_run_in_onnx_runtime_with_any_batch(tiny_run, name):
    session = ort.InferenceSession(str(tiny_run / "export" / name), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": np.zeros((3, 1, 8, 8), np.float32)})
    assert logits.shape == (3, 10)


def test_predict_and_measure_print_milliseconds(tiny_run, tiny_table_path, capsys):
    assert main(["predict", "--arch", str(tiny_run / "search/arch.json"), "--table", str(tiny_table_path)]) == 0
    assert main(["measure", "--onnx", str(tiny_run / "export/model.onnx")]) == 0
    predicted, measured = capsys.readouterr().out.strip().splitlines()[-2:]
    assert "ms predicted" in predicted and "ms measured" in measured


def test_predict_now_rescales_by_the_speed_of_the_subnets_nearest_the_prediction(tiny_run, tiny_table_path, capsys):
    assert main(["predict", "--arch", str(tiny_run / "search/arch.json"), "--table", str(tiny_table_path), "--now"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    table_ms, slower = re.search(r"nearest ([\d.]+) ms run ([\d.]+)x their table time now", "\n".join(lines)).groups()
    now_ms = float(re.search(r"([\d.]+) ms predicted", lines[-1]).group(1))
    # both milliseconds are printed to 4 decimals and the speed to 3: allow each its half unit of rounding
    rounding_ms = 0.5e-4 + 0.5e-4 * float(slower) + float(table_ms) * 0.5e-3
    assert now_ms == pytest.approx(float(table_ms) * float(slower), abs=rounding_ms)


def test_a_table_of_another_space_is_a_one_line_error(tiny_run, capsys):
    assert main(["predict", "--arch", str(tiny_run / "search/arch.json"), "--table", "latency_tables/demo-cpu.json"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "demo-cpu.json" in error and "hwnas profile" in error


def test_derive_rederives_from_the_checkpoint_alone_for_another_budget(tiny_space_path, tiny_table_path,
                                                                       tiny_target_ms, quiet, tmp_path, monkeypatch):
    """A search given a relative table path and a space YAML that is then deleted; derive from
    another directory: the checkpoint embeds the space and names its table by absolute path."""
    search_dir = tmp_path / "searched"
    search_dir.mkdir()
    shutil.copy(tiny_space_path, search_dir / "space.yaml")
    shutil.copy(tiny_table_path, search_dir / "table.json")
    recipe = Path("recipes/search_demo.yaml").resolve()
    monkeypatch.chdir(search_dir)
    assert main(["search", "--config", str(recipe), "--run_dir", "run", "--model.space", "space.yaml",
                 "--model.table", "table.json", "--model.target_ms", str(tiny_target_ms), "--model.derive.floor", "0",
                 "--model.derive.measure", "false", "--model.one_shot.epochs", "0", "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "0", *quiet]) == 0
    (search_dir / "space.yaml").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    _, slowest = json.loads((search_dir / "run/search.json").read_text())["latency_range_ms"]
    assert main(["derive", "--ckpt", str(search_dir / "run/checkpoints/last.ckpt"), "--target_ms", str(slowest),
                 "--floor", "0", "--no_measure", "--out", "derived"]) == 0
    provenance = json.loads((elsewhere / "derived/arch.json").read_text())["provenance"]
    assert provenance["stage"] == "derive" and provenance["target_ms"] == slowest
    assert provenance["table"]["path"] == str(search_dir / "table.json")
    assert provenance["predicted_ms"] <= slowest and provenance["measured_ms"] is None


def test_derive_with_another_devices_table_says_so_and_measures_nothing(tiny_run, tiny_table_path, tmp_path, capsys):
    other = json.loads(tiny_table_path.read_text())
    other["device"]["cpu"] = "Some Other CPU 9000"
    (tmp_path / "other.json").write_text(json.dumps(other))
    _, slowest = json.loads((tiny_run / "search/search.json").read_text())["latency_range_ms"]
    assert main(["derive", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(slowest),
                 "--floor", "0", "--table", str(tmp_path / "other.json"), "--out", str(tmp_path / "d")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "Some Other CPU 9000" in notes[0]
    provenance = json.loads((tmp_path / "d/arch.json").read_text())["provenance"]
    assert provenance["measured_ms"] is None and "Some Other CPU 9000" in provenance["not_measured_because"]


def test_derive_and_export_with_a_table_from_a_machine_of_another_speed_say_so(tiny_run, tiny_table_path, tmp_path,
                                                                               capsys):
    """The same identity, another machine (two cloud machines both said "AMD EPYC" and ran the
    demo reference 0.57x apart): derive still measures and corrects, and says to re-measure."""
    slow = json.loads(tiny_table_path.read_text())
    slow["reference"]["median_ms"] *= 10  # far outside ±25% even when the machine is busy (test_device_identity.py)
    (tmp_path / "slow.json").write_text(json.dumps(slow))
    _, slowest = json.loads((tiny_run / "search/search.json").read_text())["latency_range_ms"]
    assert main(["derive", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(slowest),
                 "--floor", "0", "--table", str(tmp_path / "slow.json"), "--out", str(tmp_path / "d")]) == 0
    assert main(["export", "--run", str(tiny_run / "retrain"), "--table", str(tmp_path / "slow.json"),
                 "--out", str(tmp_path / "export")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("note:") and "another machine behind the same name" in line]
    assert len(notes) == 2 and all("re-measure this machine" in note for note in notes)
    card = json.loads((tmp_path / "export/model_card.json").read_text())
    assert "another machine behind the same name" in card["latency"]["prediction_device_note"]


def test_select_then_retrain_then_export_runs_from_the_record(tiny_run, tiny_space_path, tiny_table_path, quiet,
                                                               tmp_path):
    """It used to stop at export with "names no latency table", and with --table the card said target_ms null."""
    fastest, slowest = json.loads((tiny_run / "search/search.json").read_text())["latency_range_ms"]
    target = (fastest + slowest) / 2
    assert main(["select", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(target),
                 "--population", "3", "--cycles", "2", "--sample", "2", "--calibration_batches", "1",
                 "--out", str(tmp_path / "select")]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(tmp_path / "select/arch.json"),
                 "--run_dir", str(tmp_path / "retrain"), "--trainer.max_epochs", "1", *quiet]) == 0
    assert main(["export", "--run", str(tmp_path / "retrain"), "--out", str(tmp_path / "export")]) == 0
    card = json.loads((tmp_path / "export/model_card.json").read_text())
    assert card["latency"]["target_ms"] == target and card["provenance"]["stage"] == "select"
    assert card["latency"]["predicted_from"]["path"] == str(tiny_table_path.resolve())


def test_a_fidelity_report_written_into_the_table_is_no_change_to_it(tiny_run, tmp_path):
    """validate-table writes its report into the table; derive then said "changed since the search"."""
    record = json.loads((tiny_run / "search/arch.json").read_text())
    table = json.loads(Path(record["provenance"]["table"]["path"]).read_text())
    table["fidelity"] = {"samples": 30, "method": "a report validate-table wrote"}
    (tmp_path / "table.json").write_text(json.dumps(table, indent=1))
    searched, now = TableRef.from_json(record["provenance"]["table"]), load_table(tmp_path / "table.json").ref
    assert searched.changed_note(TableRef(searched.path, now.sha256, now.device), "the search") is None
    entry = table["entries"][next(iter(table["entries"]))]
    entry.update({name: 2 * value for name, value in entry.items()})  # a prediction does change
    (tmp_path / "table.json").write_text(json.dumps(table))
    assert load_table(tmp_path / "table.json").ref.sha256 != searched.sha256


def test_export_says_when_the_table_changed_since_the_arch_was_chosen(tiny_run, tmp_path, capsys):
    """Its entries edited x100 after the search (same path, new sha256): export used to say nothing and
    put a 100x prediction beside the measurement."""
    run = tmp_path / "retrain"
    shutil.copytree(tiny_run / "retrain", run, ignore=shutil.ignore_patterns("previous-*", ".lock"))
    record = json.loads((run / "arch.json").read_text())
    table = json.loads(Path(record["provenance"]["table"]["path"]).read_text())
    for stats in table["entries"].values():
        stats.update({name: 100 * value for name, value in stats.items()})
    (tmp_path / "table.json").write_text(json.dumps(table))
    record["provenance"]["table"]["path"] = str(tmp_path / "table.json")  # its sha256 stays the searched table's
    (run / "arch.json").write_text(json.dumps(record))
    assert main(["export", "--run", str(run), "--out", str(tmp_path / "export")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith("note:") and "changed since the search that chose" in line]
    card = json.loads((tmp_path / "export/model_card.json").read_text())
    assert len(notes) == 1 and card["latency"]["predicted_from"]["changed_since_chosen"] == notes[0]
