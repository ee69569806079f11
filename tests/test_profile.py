"""Profiling a space: the table holds exactly the space's keys, survives a round trip, predicts;
and a table that does not fit is refused with a message naming the file."""

import dataclasses
import json
import math
import re

import pytest
import torch

from hwnas.arch import Arch
from hwnas.atomic import write_json
from hwnas.latency.profile import measure_onnx, profile_space, table_entries
from hwnas.latency.table import TableError, load_table, required_keys, save_table
from hwnas.onnx_export import export_onnx
from hwnas.space import load_space

@pytest.fixture(scope="module")
def space(tiny_space_path):
    return load_space(tiny_space_path)


@pytest.fixture(scope="module")
def table(space, tiny_table_path):
    """The session's tiny table (conftest.py), profiled for real once per test run."""
    return load_table(tiny_table_path, space)


@pytest.fixture
def saved(tmp_path, table):
    """The table saved to a file, and its JSON as a dict to edit into broken variants."""
    path = tmp_path / "tiny-cpu.json"
    save_table(table, path)
    return path, json.loads(path.read_text())


def test_table_holds_exactly_the_required_keys_with_positive_latencies(space, table):
    assert list(table.entries) == required_keys(space)
    assert all(math.isfinite(v) and v > 0 for stats in table.entries.values() for v in vars(stats).values())
    assert table.space_fingerprint == space.fingerprint()
    assert table.device["batch_size"] == 1 and table.device["kind"] == "cpu"


def test_entries_carry_the_layer_input_shape(space):
    """Each module runs on its batch-1 example: a shape mismatch would only show up at export."""
    for key, module, example in table_entries(space):
        assert example.shape[0] == 1
        module.eval()(example)


def test_save_load_round_trip_keeps_the_entries(space, table, saved):  # saved: re-written from `table`
    path, _ = saved
    loaded = load_table(path, space)
    assert loaded.entries == table.entries
    assert loaded.device == table.device and loaded.protocol == table.protocol


def test_table_predicts_a_finite_latency_for_a_derived_arch(space, table):
    predicted = table.predict_ms(Arch(space, ("mb_k7_e6", "zero", "mb_k3_e1")))
    assert math.isfinite(predicted) and predicted > table.fixed_ms(space)


def _another_space(data, space):
    other = dataclasses.replace(space, resolution=16)
    data["space"].update(fingerprint=other.fingerprint(), resolution=other.resolution)


def _drop_an_entry(data, space):
    del data["entries"][required_keys(space)[1]]


def _nan_entry(data, space):
    data["entries"][required_keys(space)[0]]["median_ms"] = float("nan")


def _negative_entry(data, space):
    data["entries"][required_keys(space)[-1]]["p25_ms"] = -0.01


def _unknown_version(data, space):
    data["version"] = 99


@pytest.mark.parametrize("edit, reason", [
    (_another_space, "measured for space"),
    (_drop_an_entry, "1 entries missing"),
    (_nan_entry, "non-positive or NaN"),
    (_negative_entry, "non-positive or NaN"),
    (_unknown_version, "format version 99"),
])
def test_load_refuses_a_table_that_does_not_fit(space, saved, edit, reason):
    path, data = saved
    edit(data, space)
    write_json(path, data)
    with pytest.raises(TableError, match=f"^{re.escape(str(path))}: .*{reason}"):
        load_table(path, space)


def test_load_refuses_a_truncated_file(space, saved):
    path, _ = saved
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(TableError, match=f"^{re.escape(str(path))}: not valid JSON"):
        load_table(path, space)


def test_measure_onnx_times_a_whole_model_at_the_requested_batch(space, tmp_path):
    module, example = next(table_entries(space))[1:]
    path = export_onnx(module, example, tmp_path / "stem.onnx")  # dynamic batch, as the final model
    measured = measure_onnx(path, rounds=10, warmup_rounds=2, batch_size=2)
    assert 0 < measured["p25_ms"] <= measured["median_ms"] <= measured["p75_ms"]
    assert measured["batch_size"] == 2 and measured["protocol"]["rounds"] == 10
