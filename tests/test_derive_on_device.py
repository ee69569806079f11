"""Measure before retraining: the budget is corrected by the table's error on the measured arch.

The measurement is replaced by a stand-in that reports the prediction times a fixed factor (a
table that is `factor` off on this machine): the loop under test is the correction, not the timer.
"""

from __future__ import annotations

import pytest
import torch

import hwnas.derive_on_device as on_device
from hwnas.latency.table import load_table, table_record
from hwnas.space import load_space


@pytest.fixture(scope="module")
def table(tiny_space_path, tiny_table_path):
    return load_table(tiny_table_path, load_space(tiny_space_path))


def machine_off_by(monkeypatch, table, factor: float) -> list:
    measured = []

    def measure(arch, _table):
        measured.append(arch)
        return {"median_ms": factor * table.predict_ms(arch), "reference_now_ms": factor * table.reference_ms}
    monkeypatch.setattr(on_device, "measure_arch", measure)
    return measured


def uniform(table) -> list[torch.Tensor]:
    return [torch.ones(len(layer.candidates)) / len(layer.candidates) for layer in table.space.layers()]


def test_a_table_that_is_right_measures_once(monkeypatch, table, tiny_table_path, tiny_target_ms):
    measured = machine_off_by(monkeypatch, table, 1.0)
    _, record = on_device.derive_for_target(uniform(table), table, table_record(tiny_table_path, table), tiny_target_ms, 0.9, log=print)
    assert len(measured) == 1 and record["target_met"] and len(record["tries"]) == 1


def test_a_table_that_predicts_too_slow_gets_a_larger_budget(monkeypatch, table, tiny_table_path):
    """The machine runs the archs at 0.8x the prediction: the first derive measures under the window,
    the second derives for T / 0.8 and lands inside it."""
    _, slowest = table.latency_range_ms()
    target = 0.8 * slowest * 1.0001  # at 0.8x, only archs predicted near the slowest measure inside [0.9 T, T]
    machine_off_by(monkeypatch, table, 0.8)
    arch, record = on_device.derive_for_target(uniform(table), table, table_record(tiny_table_path, table), target, 0.9, log=print)
    assert record["target_met"] and len(record["tries"]) == 2
    assert record["tries"][1]["window_ms"][1] == pytest.approx(target * record["tries"][0]["predicted_ms"]
                                                              / record["tries"][0]["measured_ms"])
    low, high = record["tries"][1]["window_ms"]
    assert low <= table.predict_ms(arch) <= high and high == pytest.approx(slowest * 1.0001)


def test_a_correction_out_of_the_space_keeps_what_was_measured(monkeypatch, table, tiny_table_path, tiny_target_ms):
    """10x slower than predicted: the corrected window is below every arch. The search must still
    write the arch it measured (it used to end in DeriveError after the whole search)."""
    machine_off_by(monkeypatch, table, 10.0)
    arch, record = on_device.derive_for_target(uniform(table), table, table_record(tiny_table_path, table), tiny_target_ms, 0.9, log=print)
    assert record["target_met"] is False and record["measured_ms"] > tiny_target_ms
    assert "holds no arch" in record["tries_stopped_because"] and len(record["tries"]) == 1
