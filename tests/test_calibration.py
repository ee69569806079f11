"""The calibration fit recovers a known model, refuses too few subnets, and folds into the
table's per-layer costs exactly (weight term included)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from hwnas.arch import random_arch
from hwnas.latency.calibration import MIN_POINTS, Calibration, CalibrationPoint, fit_calibration
from hwnas.latency.table import arch_weight_mb, load_table


def exact_points(count: int, scale=1.2, per_op=-0.01, per_weight_mb=0.05, offset=0.02) -> list[CalibrationPoint]:
    rng = np.random.default_rng(0)
    return [CalibrationPoint(("op",), s, n, w, scale * s + per_op * n + per_weight_mb * w + offset)
            for s, n, w in zip(rng.uniform(0.1, 1, count), rng.integers(3, 9, count), rng.uniform(0, 4, count))]


def test_fit_recovers_the_coefficients_of_exact_data():
    c = fit_calibration(exact_points(8))
    assert (c.scale, c.per_op_ms, c.per_weight_mb_ms, c.offset_ms) == pytest.approx((1.2, -0.01, 0.05, 0.02))


def test_fit_needs_more_subnets_than_coefficients():
    with pytest.raises(ValueError, match=f"at least {MIN_POINTS}"):
        fit_calibration(exact_points(MIN_POINTS - 1))


def test_calibrated_prediction_is_the_model_summed_over_layers(tiny_table_path):
    """scale 1, no per-op term, 0.5 ms per weight MB, offset 0.01 ms: nothing clamps, so the
    prediction must be exactly sum + 0.5 · weight MB + 0.01."""
    table = load_table(tiny_table_path)
    table = dataclasses.replace(table, calibration=Calibration(1.0, 0.0, 0.5, 0.01, ()))
    archs = [random_arch(table.space, random.Random(seed)) for seed in range(5)]
    assert any(arch_weight_mb(arch) > 0 for arch in archs)
    for arch in archs:
        assert table.predict_ms(arch) == pytest.approx(table.sum_ms(arch) + 0.5 * arch_weight_mb(arch) + 0.01)
