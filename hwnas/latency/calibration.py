"""Calibration: from the sum of per-op medians to the latency of the whole network.

Each table entry is timed as its own ONNX Runtime session, so it pays the per-call
overhead (input/output handling, dispatch) once; a network pays it once in total. And each
entry is timed warm, its weights in the core's cache (timing.py says why); a network whose
weights exceed the 2 MB L2 cache streams them from further away. The model fitted on
measured random subnets is

    measured_ms ≈ scale · Σ entries_ms + per_op_ms · n_ops + per_weight_mb_ms · weight_mb + offset_ms

with n_ops the number of entries the network uses (stem, head and every non-zero layer) and
weight_mb the MB of float32 weights of its searchable layers (the fixed parts' are constant,
in the offset). What each term buys, fitted on the committed tables' 40 calibration subnets
and scored on 30 fresh ones (benchmarks/calibration_models.py; mean |error|, Kendall τ):

                       demo (0.06-0.3 MB)    proxyless_cifar (4.5-12 MB of weights)
    scale + offset     2.3%  τ 0.92          1.3%  τ 0.92
    + per op           1.2%  τ 0.96          1.4%  τ 0.90
    + weight MB        0.7%  τ 0.98          0.8%  τ 0.96
    noise floor              τ 0.98                τ 1.00   (τ of two measurements)

The per-op term matters where ops are small: networks with more `zero` layers save the
per-call overhead of each skipped op, which a scale cannot see. The weight term is the one
proxyless_cifar needs (its weights outgrow L2); that it also helps demo, whose weights fit
in L2, is not explained yet (it grows with the expand ratio, so it may stand for something
else that the per-op medians miss).

The model is linear in the entries, so it folds into the lookup costs: a non-zero op of a
layer costs scale · LUT + per_op_ms + per_weight_mb_ms · its weight MB, clamped at 0 ms (a
layer cannot make a network faster; the clamp only bites on the smallest demo ops, where the
entry is mostly overhead), and the fixed parts cost scale · (stem + head) + 2 · per_op_ms +
offset_ms.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

MIN_POINTS = 5  # more measured subnets than the model's 4 coefficients
MODEL = "measured_ms = scale * sum_ms + per_op_ms * n_ops + per_weight_mb_ms * weight_mb + offset_ms"


@dataclass(frozen=True)
class CalibrationPoint:
    ops: tuple[str, ...]
    sum_ms: float  # Σ of the table's medians for this subnet
    n_ops: int  # entries it uses: stem, head, non-zero layers
    weight_mb: float  # MB of float32 weights of its non-zero searchable layers
    measured_ms: float  # median of the whole subnet, timed in the same rounds as the entries


@dataclass(frozen=True)
class Calibration:
    scale: float
    per_op_ms: float
    per_weight_mb_ms: float
    offset_ms: float
    points: tuple[CalibrationPoint, ...]  # what it was fitted on

    def op_cost_ms(self, entry_ms: float, weight_mb: float) -> float:
        """Calibrated marginal cost of one non-zero op whose table median is entry_ms."""
        return max(0.0, self.scale * entry_ms + self.per_op_ms + self.per_weight_mb_ms * weight_mb)

    def fixed_cost_ms(self, stem_ms: float, head_ms: float) -> float:
        return self.scale * (stem_ms + head_ms) + 2 * self.per_op_ms + self.offset_ms

    def to_json(self) -> dict:
        return {"model": MODEL, "scale": self.scale, "per_op_ms": self.per_op_ms,
                "per_weight_mb_ms": self.per_weight_mb_ms, "offset_ms": self.offset_ms,
                "fitted_on": [{"ops": list(p.ops), "sum_ms": p.sum_ms, "n_ops": p.n_ops, "weight_mb": p.weight_mb,
                               "measured_ms": p.measured_ms} for p in self.points]}

    @staticmethod
    def from_json(data: dict) -> "Calibration":
        """Raises ValueError for values no measurement gives (NaN, or a scale ≤ 0: a table whose
        predictions fall as its entries grow); load_table turns it into a one-line TableError."""
        values = {name: float(data[name]) for name in ("scale", "per_op_ms", "per_weight_mb_ms", "offset_ms")}
        if not all(map(math.isfinite, values.values())) or values["scale"] <= 0:
            raise ValueError(f"calibration values must be finite with a positive scale, got {values}")
        points = tuple(CalibrationPoint(tuple(p["ops"]), float(p["sum_ms"]), int(p["n_ops"]), float(p["weight_mb"]),
                                        float(p["measured_ms"])) for p in data["fitted_on"])
        return Calibration(float(data["scale"]), float(data["per_op_ms"]), float(data["per_weight_mb_ms"]),
                           float(data["offset_ms"]), points)


def fit_calibration(points: list[CalibrationPoint]) -> Calibration:
    """Least-squares fit of the four coefficients on at least MIN_POINTS measured subnets."""
    if len(points) < MIN_POINTS:
        raise ValueError(f"calibration needs at least {MIN_POINTS} measured subnets, got {len(points)}")
    features = np.array([[p.sum_ms, p.n_ops, p.weight_mb, 1.0] for p in points])
    measured = np.array([p.measured_ms for p in points])
    (scale, per_op, per_weight_mb, offset), *_ = np.linalg.lstsq(features, measured, rcond=None)
    return Calibration(float(scale), float(per_op), float(per_weight_mb), float(offset), tuple(points))
