"""Measuring at the table's speed: the anchors a model is judged on, the runs, the records."""

import json
import math
import statistics

import pytest

import hwnas.measuring.measure
from hwnas.latency.table import load_table
from hwnas.measuring.measure import (NEAREST_ANCHORS, REFERENCE, Measurement, measure_at_table_speed,
                                     nearest_anchors, speed_anchors)
from hwnas.net.arch import Arch
from hwnas.net.space import load_space


@pytest.fixture(scope="module")
def table(tiny_space_path, tiny_table_path):
    return load_table(tiny_table_path, load_space(tiny_space_path))


def test_the_anchors_are_the_reference_and_each_calibration_subnet_once(table):
    anchors = speed_anchors(table)
    assert anchors[REFERENCE].table_ms == table.reference_ms
    distinct = {point.ops for point in table.calibration.points} | {table.reference_ops}
    assert sorted(anchor.arch.ops for anchor in anchors.values()) == sorted(distinct)
    by_ops = {point.ops: point.measured_ms for point in table.calibration.points}
    assert all(anchor.table_ms == by_ops[anchor.arch.ops] for name, anchor in anchors.items() if name != REFERENCE)


def test_the_nearest_anchors_are_nearest_by_ratio(table):
    anchors = speed_anchors(table)
    times = sorted(anchor.table_ms for anchor in anchors.values())
    chosen = nearest_anchors(anchors, times[-1])  # the slowest anchor and the next two below it
    assert sorted(anchors[name].table_ms for name in chosen) == times[-NEAREST_ANCHORS:]
    middle = times[len(times) // 2]
    chosen = nearest_anchors(anchors, middle)
    worst = max(abs(math.log(anchors[name].table_ms / middle)) for name in chosen)
    left_out = [abs(math.log(anchor.table_ms / middle)) for name, anchor in anchors.items() if name not in chosen]
    assert len(chosen) == NEAREST_ANCHORS and worst <= min(left_out)


def test_the_machines_speed_is_taken_out_run_by_run_and_one_odd_anchor_is_outvoted(table, monkeypatch):
    """Timings made up so the answer is known: in run r everything runs s_r times its table time, the
    model 0.123 ms at the table's speed, and its nearest anchor three times slower still. Each run's
    speed is s_r, the figure at the table's speed 0.123 ms, the raw figure the median of 0.123 · s_r."""
    arch = Arch(table.space, table.calibration.points[-1].ops)
    anchors = speed_anchors(table)
    odd = nearest_anchors(anchors, table.predict_ms(arch))[0]
    speeds = {0: 1.3, 1: 0.7, 2: 1.1}  # run r has seed r

    def made_up(paths, *, seed, **_):
        s = speeds[seed]
        ms = {name: (0.123 if name == "model" else anchors[name].table_ms * (3 if name == odd else 1)) * s
              for name in paths}
        return {name: {"median_ms": value, "p25_ms": value, "p75_ms": value} for name, value in ms.items()}
    monkeypatch.setattr(hwnas.measuring.measure, "time_interleaved", made_up)
    measured = measure_at_table_speed({"model": arch}, table).measurements["model"]
    assert [run.speed_now for run in measured.runs] == pytest.approx([1.3, 0.7, 1.1])
    assert measured.at_table_speed_ms == pytest.approx(0.123)
    assert measured.median_ms == pytest.approx(0.123 * 1.1)


def test_a_measurement_records_its_runs_and_anchors_and_reads_back_the_same(table):
    """Two runs of a real measurement: an arch judged on the anchors nearest its prediction; the
    figure at the table's speed is the median of the runs' raw medians each divided by its speed, and a
    record of it reads back the same."""
    arch = Arch(table.space, table.calibration.points[-1].ops)
    anchors = speed_anchors(table)
    side_by_side = measure_at_table_speed({"arch": arch}, table, runs=2, rounds=20, warmup_rounds=2)
    measured = side_by_side.measurements["arch"]
    expected = sorted(anchors[name].table_ms for name in nearest_anchors(anchors, table.predict_ms(arch)))
    assert sorted(measured.anchors_table_ms) == expected
    assert len(measured.runs) == 2 and measured.protocol["runs"] == 2
    assert measured.at_table_speed_ms == pytest.approx(statistics.median(r.median_ms / r.speed_now
                                                                         for r in measured.runs))
    assert measured.median_ms == pytest.approx(statistics.median(r.median_ms for r in measured.runs))
    read_back = Measurement.from_json(json.loads(json.dumps(measured.to_json())))
    assert read_back == measured


def test_a_file_without_a_size_is_judged_on_the_reference(table, tmp_path):
    """A model given as a file, with no predicted latency to choose anchors by."""
    from hwnas.measuring.measure import export_subnets

    path = export_subnets({"model": table.reference_arch()}, tmp_path, table.precision)["model"]
    side_by_side = measure_at_table_speed({"file": path}, table, runs=1, rounds=20, warmup_rounds=2)
    measured = side_by_side.measurements["file"]
    assert measured.anchors_table_ms == (table.reference_ms,)
    assert measured.speed_now == pytest.approx(side_by_side.reference_now_ms / table.reference_ms)


def test_a_record_from_before_the_anchors_is_judged_on_its_reference():
    old = {"median_ms": 0.06, "p25_ms": 0.059, "p75_ms": 0.061, "reference_now_ms": 0.048,
           "reference_table_ms": 0.04, "batch_size": 1, "device": {"kind": "cpu"}, "protocol": {"rounds": 300}}
    measured = Measurement.from_json(old)
    assert measured.speed_now == pytest.approx(1.2) and measured.at_table_speed_ms == pytest.approx(0.05)


def test_a_record_without_runs_is_refused():
    record = {"median_ms": 0.06, "p25_ms": 0.059, "p75_ms": 0.061, "reference_now_ms": 0.048,
              "reference_table_ms": 0.04, "runs": [], "anchors_table_ms": [], "device": {}, "protocol": {}}
    with pytest.raises(ValueError, match="at least one"):
        Measurement.from_json(record)


def test_a_run_that_ran_no_time_is_refused():
    record = {"median_ms": 0.06, "p25_ms": 0.059, "p75_ms": 0.061, "reference_now_ms": 0.048,
              "reference_table_ms": 0.04, "runs": [{"median_ms": 0.06, "speed_now": 0}], "anchors_table_ms": [0.05],
              "device": {}, "protocol": {}}
    with pytest.raises(ValueError, match="speed_now"):
        Measurement.from_json(record)
