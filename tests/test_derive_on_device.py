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


def test_the_derive_leaves_headroom_under_the_budget_where_the_space_allows(table):
    """The demo's arch, predicted at 0.95 T, measured 0.0759-0.0805 ms for T = 0.08 on runs minutes
    apart: the derive now looks in [floor·T, 0.95·T] first, and in [floor·T, T] only if that is empty."""
    import itertools

    from hwnas.arch import Arch

    predictions = sorted(table.predict_ms(Arch(table.space, ops)) for ops in
                         itertools.product(*(layer.candidates for layer in table.space.layers())))

    def holds(low, high):
        return any(low <= p <= high for p in predictions)
    with_room = next(p / 0.93 for p in predictions if holds(0.9 * p / 0.93, on_device.HEADROOM * p / 0.93))
    derived = on_device.derive_with_headroom(uniform(table), table, with_room, 0.9)
    assert 0.9 * with_room <= derived.predicted_ms <= on_device.HEADROOM * with_room
    # a floor of 0.949 and a budget just above an arch: the window below 0.95·T is 0.1% wide and
    # (for some arch) empty, so the whole window is used and the arch above 0.95·T is taken
    tight = next(p / 0.999 for p in predictions if not holds(0.949 * p / 0.999, on_device.HEADROOM * p / 0.999))
    derived = on_device.derive_with_headroom(uniform(table), table, tight, 0.949)
    assert on_device.HEADROOM * tight < derived.predicted_ms <= tight
