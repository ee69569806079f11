"""Measure before retraining: the budget is corrected by the table's error on the measured arch,
judged in the table's speed state.

The measurement is replaced by a stand-in that reports the prediction times a fixed factor (a
table that is `factor` off on this machine) and the reference at `speed` times the table's (the
machine's speed state this minute): the loop under test is the correction, not the timer.
"""

from __future__ import annotations

import itertools

import pytest
import torch

import hwnas.derive.on_device as on_device
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.space import load_space
from hwnas.measuring.measure import Measurement, Run


@pytest.fixture(scope="module")
def table(tiny_space_path, tiny_table_path):
    return load_table(tiny_table_path, load_space(tiny_space_path))


@pytest.fixture(scope="module")
def predictions(table) -> list[float]:
    """The predicted latency (ms) of every arch of the tiny space, sorted."""
    return sorted(table.predict_ms(Arch(table.space, ops))
                  for ops in itertools.product(*(layer.candidates for layer in table.space.layers())))


def holds(predictions: list[float], low: float, high: float) -> bool:
    return any(low <= p <= high for p in predictions)


def machine_off_by(monkeypatch, table, factor: float, speed: float = 1.0) -> list:
    measured = []

    def measure(arch, _table):
        measured.append(arch)
        raw_ms = speed * factor * table.predict_ms(arch)
        return Measurement(raw_ms, 0.0, 0.0, speed * table.reference_ms, table.reference_ms,
                           (Run(raw_ms, speed),), (table.reference_ms,), {}, {})
    monkeypatch.setattr(on_device, "measure_arch", measure)
    return measured


def derive(table, table_path, target_ms: float):
    """The derive under a uniform distribution, floor 0.9; its provenance as arch.json holds it."""
    arch, provenance = on_device.derive_for_target(uniform(table), table, target_ms, 0.9)
    return arch, provenance.to_json()


def uniform(table) -> list[torch.Tensor]:
    return [torch.ones(len(layer.candidates)) / len(layer.candidates) for layer in table.space.layers()]


def test_a_table_that_is_right_measures_once(monkeypatch, table, tiny_table_path, tiny_target_ms):
    measured = machine_off_by(monkeypatch, table, 1.0)
    _, record = derive(table, tiny_table_path, tiny_target_ms)
    assert len(measured) == 1 and record["target_met"] and len(record["tries"]) == 1


def test_a_machine_slower_this_minute_is_judged_at_the_tables_speed(monkeypatch, table, tiny_table_path,
                                                                    tiny_target_ms):
    """The reference and the arch both run 1.3x slower than in the table (the machine's speed state):
    the raw median is over T, the measurement at the table's speed is inside, and no budget is corrected."""
    measured = machine_off_by(monkeypatch, table, 1.0, speed=1.3)
    _, record = derive(table, tiny_table_path, tiny_target_ms)
    assert len(measured) == 1 and record["target_met"] and record["measured_ms"] > tiny_target_ms
    assert record["measured_at_table_speed_ms"] == pytest.approx(record["predicted_ms"])


def test_a_table_that_predicts_too_slow_gets_a_larger_budget(monkeypatch, table, tiny_table_path, predictions):
    """The machine runs the archs at 0.8x the prediction: the first derive measures under the window,
    the second derives for T / 0.8 and lands inside it. T is taken from this table's archs: one just
    under T / 0.8 (the corrected budget), and one predicted in [0.9 T, T] for the first try."""
    target = next(0.8 * p * 1.0001 for p in predictions if holds(predictions, 0.9 * 0.8 * p * 1.0001, 0.8 * p * 1.0001))
    machine_off_by(monkeypatch, table, 0.8)
    arch, record = derive(table, tiny_table_path, target)
    assert record["target_met"] and len(record["tries"]) == 2
    corrected = target * record["tries"][0]["predicted_ms"] / record["tries"][0]["measured_at_table_speed_ms"]
    assert corrected == pytest.approx(target / 0.8)
    low, high = record["tries"][1]["window_ms"]  # with room at both ends of the corrected window where it holds an arch
    assert (low, high) in ((pytest.approx(0.9 * corrected), pytest.approx(corrected)),
                           (pytest.approx(on_device.FLOOR_ROOM * 0.9 * corrected),
                            pytest.approx(on_device.HEADROOM * corrected)))
    assert low <= table.predict_ms(arch) <= high


def test_a_correction_out_of_the_space_keeps_what_was_measured(monkeypatch, table, tiny_table_path, tiny_target_ms):
    """10x slower than predicted: the corrected window is below every arch. The search must still
    write the arch it measured (it used to end in DeriveError after the whole search)."""
    machine_off_by(monkeypatch, table, 10.0)
    arch, record = derive(table, tiny_table_path, tiny_target_ms)
    assert record["target_met"] is False and record["measured_ms"] > tiny_target_ms
    assert "holds no arch" in record["tries_stopped_because"] and len(record["tries"]) == 1


def test_the_derive_leaves_headroom_under_the_budget_where_the_space_allows(table, predictions):
    """The demo's arch, predicted at 0.95 T, measured 0.0759-0.0805 ms for T = 0.08 on runs minutes
    apart: the derive now looks in [1.02·floor·T, 0.97·T] first, and in [floor·T, T] only if that is empty."""
    low = on_device.FLOOR_ROOM * 0.9
    with_room = next(p / 0.94 for p in predictions
                     if holds(predictions, low * p / 0.94, on_device.HEADROOM * p / 0.94))
    derived = on_device.derive_with_headroom(uniform(table), table, with_room, 0.9)
    assert low * with_room <= derived.predicted_ms <= on_device.HEADROOM * with_room
    # a floor of 0.949 and a budget just above an arch: the window with room is at most 0.2% wide and
    # (for some arch) empty, so the whole window is used and the arch above 0.97·T is taken
    tight = next(p / 0.999 for p in predictions
                 if not holds(predictions, 0.949 * p / 0.999, on_device.HEADROOM * p / 0.999))
    derived = on_device.derive_with_headroom(uniform(table), table, tight, 0.949)
    assert on_device.HEADROOM * tight < derived.predicted_ms <= tight
