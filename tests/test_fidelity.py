"""validate-table: the metrics mean what they say, validation never reuses calibration subnets,
and the report and scatter plot are written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.measuring.fidelity import agreement, fresh_archs


def test_agreement_metrics_on_known_numbers():
    measured = np.array([1.0, 2.0, 3.0, 4.0])
    exact = agreement(measured, measured)
    assert exact["mean_abs_error_pct"] == 0 and exact["within_5_pct"] == 1 and exact["kendall_tau"] == pytest.approx(1)
    off = agreement(measured * np.array([1.04, 1.08, 0.8, 1.0]), measured)
    assert off["max_abs_error_pct"] == pytest.approx(20) and off["within_5_pct"] == 0.5 and off["within_10_pct"] == 0.75
    assert off["kendall_tau"] == pytest.approx(1)  # errors that keep the order keep τ at 1
    assert agreement(measured[::-1], measured)["kendall_tau"] == pytest.approx(-1)


def test_fresh_subnets_exclude_calibration_and_reference(tiny_table_path):
    table = load_table(tiny_table_path)
    used = {p.ops for p in table.calibration.points} | {table.reference_ops}
    archs = fresh_archs(table, 8, seed=1)
    assert archs and not any(a.ops in used for a in archs) and len({a.ops for a in archs}) == len(archs)


def test_validate_table_writes_fidelity_and_plot(tiny_table_path, tmp_path, capsys):
    table_path = tmp_path / "tiny-cpu.json"
    table_path.write_text(tiny_table_path.read_text())
    assert main(["validate-table", str(table_path), "--samples", "6"]) == 0
    fidelity = json.loads(table_path.read_text())["fidelity"]
    assert fidelity["samples"] == 6 and len(fidelity["points"]) == 6
    for name in ("raw", "normalized", "second_measurement"):
        assert 0 <= fidelity[name]["within_10_pct"] <= 1 and -1 <= fidelity[name]["kendall_tau"] <= 1
    assert table_path.with_suffix(".fidelity.png").stat().st_size > 10_000
    assert "normalized" in capsys.readouterr().out
