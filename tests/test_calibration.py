"""The calibration fit recovers a known model, refuses too few subnets, and folds into the
table's per-layer costs exactly (weight term included)."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest

from hwnas.latency.calibration import Calibration, CalibrationPoint, fit_calibration
from hwnas.latency.table import arch_weight_mb, load_table
from hwnas.net.arch import random_arch


def exact_points(count: int, scale=1.2, per_op=-0.01, per_weight_mb=0.05, offset=0.02) -> list[CalibrationPoint]:
    rng = np.random.default_rng(0)
    return [CalibrationPoint(("op",), s, n, w, scale * s + per_op * n + per_weight_mb * w + offset)
            for s, n, w in zip(rng.uniform(0.1, 1, count), rng.integers(3, 9, count), rng.uniform(0, 4, count))]


def test_fit_recovers_the_coefficients_of_exact_data():
    c = fit_calibration(exact_points(8))
    assert (c.scale, c.per_op_ms, c.per_weight_mb_ms, c.offset_ms) == pytest.approx((1.2, -0.01, 0.05, 0.02))


def test_too_few_distinct_subnets_fall_back_to_fewer_terms_and_say_which():
    """A 2-layer space once fitted 4 coefficients on 5 subnets and predicted 5x the measurements."""
    # 6 subnets, 2 per term: enough for scale + per op + offset (exact here), not for all 4
    fitted = fit_calibration(exact_points(6, per_weight_mb=0.0))
    assert fitted.terms == ("scale", "per_op_ms", "offset_ms") and fitted.per_weight_mb_ms == 0.0
    assert (fitted.scale, fitted.per_op_ms, fitted.offset_ms) == pytest.approx((1.2, -0.01, 0.02))
    assert "4 terms need 8 distinct subnets, got 6" in fitted.note


def test_a_fit_with_a_negative_scale_or_a_large_error_on_its_own_subnets_is_refused():
    """Latency falling as the entries grow: scale + offset fits a negative scale, scale alone misses."""
    points = [CalibrationPoint(("op",), s, 3, 0.0, m) for s, m in [(0.1, 0.5), (0.2, 0.3), (0.3, 0.2), (0.4, 0.1)]]
    with pytest.raises(ValueError) as refused:
        fit_calibration(points)
    assert "2 terms: scale" in str(refused.value) and "1 terms: misses its own subnets" in str(refused.value)


def test_one_noisy_subnet_does_not_refuse_the_model():
    """A timing hiccup on one of 40 subnets (+60%) must not cost the table its calibration."""
    points = exact_points(40)
    points[7] = CalibrationPoint(points[7].ops, points[7].sum_ms, points[7].n_ops, points[7].weight_mb,
                                 1.6 * points[7].measured_ms)
    assert fit_calibration(points).terms == ("scale", "per_op_ms", "per_weight_mb_ms", "offset_ms")


def test_the_fit_reports_its_error_on_the_subnets_it_was_fitted_on():
    fitted = fit_calibration(exact_points(8))
    assert fitted.fit_error_pct["max"] == pytest.approx(0.0, abs=1e-6) and fitted.note is None


def test_calibrated_prediction_is_the_model_summed_over_layers(tiny_table_path):
    """scale 1, no per-op term, 0.5 ms per weight MB, offset 0.01 ms: nothing clamps, so the
    prediction must be exactly sum + 0.5 · weight MB + 0.01."""
    table = load_table(tiny_table_path)
    table = dataclasses.replace(table, calibration=Calibration(1.0, 0.0, 0.5, 0.01, ()))
    archs = [random_arch(table.space, random.Random(seed)) for seed in range(5)]
    assert any(arch_weight_mb(arch) > 0 for arch in archs)
    for arch in archs:
        assert table.predict_ms(arch) == pytest.approx(table.sum_ms(arch) + 0.5 * arch_weight_mb(arch) + 0.01)
