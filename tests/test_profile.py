"""A profiled table holds exactly the space's entries, a reference and a calibration, survives
a round trip and predicts; a table that does not fit is refused with a message naming the file."""

import json
import math
import re

import pytest
import torch
from torch import nn

from hwnas.files.atomic import write_json
from hwnas.latency.table import TableError, load_table, required_keys, save_table
from hwnas.measuring.onnx_export import export_onnx
from hwnas.net.arch import Arch
from hwnas.net.space import load_space
from hwnas.measuring.measure import measure_onnx


@pytest.fixture(scope="module")
def space(tiny_space_path):
    return load_space(tiny_space_path)


@pytest.fixture(scope="module")
def table(space, tiny_table_path):
    """The session's tiny table (conftest.py), profiled for real once per test run."""
    return load_table(tiny_table_path, space)


@pytest.fixture
def saved(tmp_path, table):
    """The table re-saved to a file, and its JSON as a dict to edit into broken variants."""
    path = tmp_path / "tiny-cpu.json"
    save_table(table, path)
    return path, json.loads(path.read_text())


def test_table_holds_exactly_the_required_keys_with_positive_latencies(space, table):
    assert list(table.entries) == required_keys(space)
    assert all(math.isfinite(v) and v > 0 for stats in table.entries.values() for v in vars(stats).values())
    assert table.space == space and table.device.get("batch_size") == 1 and table.device.threads == 1
    assert table.reference_ms > 0 and len(table.calibration.points) == 8


def test_save_load_round_trip_keeps_everything(space, table, saved):
    path, _ = saved
    loaded = load_table(path, space)
    assert (loaded.entries, loaded.reference_ms, loaded.calibration) == (table.entries, table.reference_ms, table.calibration)
    assert load_table(path).space == space  # the table carries its space


def test_calibration_fits_the_subnets_it_was_measured_on(table):
    """On its own points the fitted model must beat the raw sum (which pays per-op overhead)."""
    points = table.calibration.points
    raw = sum(abs(p.sum_ms - p.measured_ms) / p.measured_ms for p in points)
    calibrated = sum(abs(table.predict_ms(Arch(table.space, p.ops)) - p.measured_ms) / p.measured_ms for p in points)
    assert calibrated < raw


def test_prediction_is_calibrated_unless_asked_raw(space, table):
    arch = Arch(space, ("mb_k7_e6", "zero", "mb_k3_e1"))
    assert table.predict_ms(arch, calibrated=False) == pytest.approx(table.sum_ms(arch))
    assert table.predict_ms(arch) != table.predict_ms(arch, calibrated=False)
    assert "calibrated on 8" in table.method


def _drop_an_entry(data, space):
    del data["entries"][required_keys(space)[1]]


def _nan_entry(data, space):
    data["entries"][required_keys(space)[0]]["median_ms"] = float("nan")


def _negative_entry(data, space):
    data["entries"][required_keys(space)[-1]]["p25_ms"] = -0.01


def _unknown_version(data, space):
    data["version"] = 99


def _edited_definition(data, space):
    data["space"]["definition"]["head"]["channels"] = 64


@pytest.mark.parametrize("edit, reason", [
    (_drop_an_entry, "1 entries missing"),
    (_nan_entry, "NaN is not a number JSON allows"),
    (_negative_entry, "which no measurement gives"),
    (_unknown_version, "format version 99"),
    (_edited_definition, "does not match its recorded fingerprint"),
])
def test_load_refuses_a_table_that_does_not_fit(space, saved, edit, reason):
    path, data = saved
    edit(data, space)
    write_json(path, data)
    with pytest.raises(TableError, match=f"^{re.escape(str(path))}: .*{reason}.*hwnas profile"):
        load_table(path, space)


def test_load_refuses_a_table_of_another_space(saved):
    path, _ = saved
    with pytest.raises(TableError, match=f"^{re.escape(str(path))}: measured for space tiny"):
        load_table(path, load_space("recipes/spaces/demo.yaml"))


def test_load_refuses_a_truncated_file(space, saved):
    path, _ = saved
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(TableError, match=f"^{re.escape(str(path))}: not valid JSON"):
        load_table(path, space)


def test_measure_onnx_times_a_whole_model_at_the_requested_batch(tmp_path):
    torch.manual_seed(0)
    path = export_onnx(nn.Conv2d(3, 8, 3, padding=1), torch.randn(1, 3, 8, 8), tmp_path / "conv.onnx")
    measured = measure_onnx(path, rounds=10, warmup_rounds=2, batch_size=2)
    assert 0 < measured["p25_ms"] <= measured["median_ms"] <= measured["p75_ms"]
    assert measured["batch_size"] == 2 and measured["protocol"]["rounds"] == 10
