import json

import pytest

from hwnas.net.arch import Arch, ArchError
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord


@pytest.fixture
def arch() -> Arch:
    space = load_space("recipes/spaces/demo.yaml")
    return Arch(space, tuple(layer.candidates[-1] for layer in space.layers()))


def test_round_trip_keeps_space_and_ops(arch, tmp_path):
    ArchRecord(arch).save(tmp_path / "arch.json")
    assert ArchRecord.load(tmp_path / "arch.json").arch == arch


def test_edited_space_definition_is_detected(arch, tmp_path):
    data = ArchRecord(arch).to_json()
    data["space"]["definition"]["head"]["channels"] = 64
    (tmp_path / "arch.json").write_text(json.dumps(data))
    with pytest.raises(ArchError, match="edited"):
        ArchRecord.load(tmp_path / "arch.json")


def test_op_outside_the_layer_candidates_is_rejected(arch, tmp_path):
    data = ArchRecord(arch).to_json()
    data["ops"][2] = "zero"  # layer 2 changes stride: zero is not a candidate there
    (tmp_path / "arch.json").write_text(json.dumps(data))
    with pytest.raises(ArchError, match=r"arch.json.*layer 2"):
        ArchRecord.load(tmp_path / "arch.json")


@pytest.mark.parametrize("content", ["{", "[]", '{"format": "hwnas.arch", "version": 99}'])
def test_malformed_files_are_one_line_errors(tmp_path, content):
    (tmp_path / "arch.json").write_text(content)
    with pytest.raises(ArchError, match="arch.json"):
        ArchRecord.load(tmp_path / "arch.json")


def test_a_version_2_record_still_loads_with_its_measurement_and_selection(arch, tmp_path):
    """Version 2 wrote the provenance as each stage's own dict: select's `method`, a measurement
    without the table's reference (it is recovered from the rescaled median)."""
    measurement = {"median_ms": 0.06, "at_table_speed_ms": 0.05, "p25_ms": 0.059, "p75_ms": 0.061,
                   "reference_now_ms": 0.048, "batch_size": 1, "device": {"kind": "cpu"}, "protocol": {"rounds": 300}}
    data = {**ArchRecord(arch).to_json(), "version": 2, "provenance": {
        "stage": "select", "table": {"path": "/t.json", "sha256": "ab", "device": {"kind": "cpu"}}, "target_ms": 0.07,
        "floor": 0.0, "predicted_ms": 0.05, "measured_ms": 0.06, "measurement": measurement, "method": "evolution",
        "arch_split_accuracy": 0.9, "tries": [{"ops": list(arch.ops), "predicted_ms": 0.05, "log_probability": -3.0,
                                                "window_ms": [0.063, 0.07], "measured_ms": 0.06}]}}
    (tmp_path / "arch.json").write_text(json.dumps(data))
    provenance = ArchRecord.load(tmp_path / "arch.json").provenance
    assert provenance.selection == {"method": "evolution", "arch_split_accuracy": 0.9}
    assert provenance.measurement.reference_table_ms == pytest.approx(0.04)
    assert provenance.to_json()["measured_at_table_speed_ms"] == pytest.approx(0.05)
    assert provenance.target_met and provenance.table.path == "/t.json" and len(provenance.tries) == 1
