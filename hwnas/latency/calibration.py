"""Calibration: from the sum of per-op medians to the latency of the whole network.

Each table entry is timed as its own ONNX Runtime session, so it pays the per-call
overhead (input/output handling, dispatch) once; a network pays it once in total. On this
2-core machine the raw sum was 1.5-2.0× the measured demo networks and 1.3-1.4× the
proxyless_cifar ones. The model fitted on measured random subnets is

    measured_ms ≈ scale · Σ entries_ms + per_op_ms · n_ops + offset_ms

with n_ops the number of entries the network uses (stem, head and every non-zero layer).
Leave-one-out on 24 demo / 20 proxyless_cifar subnets: mean |error| 1.3% / 0.7%.
Tried first: scale and offset only, 5.8% / 1.7% (max 14% on demo), because networks with
more `zero` layers save the per-call overhead of each skipped op, which a scale cannot see.

The model is linear in the entries, so it folds into the lookup costs: a non-zero op of a
layer costs scale · LUT + per_op_ms, clamped at 0 ms (a layer cannot make a network
faster; the clamp only bites on the smallest demo ops, where the entry is mostly overhead),
and the fixed parts cost scale · (stem + head) + 2 · per_op_ms + offset_ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CalibrationPoint:
    ops: tuple[str, ...]
    sum_ms: float  # Σ of the table's medians for this subnet
    n_ops: int  # entries it uses: stem, head, non-zero layers
    measured_ms: float  # median of the whole subnet, timed in the same rounds as the entries


@dataclass(frozen=True)
class Calibration:
    scale: float
    per_op_ms: float
    offset_ms: float
    points: tuple[CalibrationPoint, ...]  # what it was fitted on

    def op_cost_ms(self, entry_ms: float) -> float:
        """Calibrated marginal cost of one non-zero op whose table median is entry_ms."""
        return max(0.0, self.scale * entry_ms + self.per_op_ms)

    def fixed_cost_ms(self, stem_ms: float, head_ms: float) -> float:
        return self.scale * (stem_ms + head_ms) + 2 * self.per_op_ms + self.offset_ms

    def to_json(self) -> dict:
        return {"model": "measured_ms = scale * sum_ms + per_op_ms * n_ops + offset_ms",
                "scale": self.scale, "per_op_ms": self.per_op_ms, "offset_ms": self.offset_ms,
                "fitted_on": [{"ops": list(p.ops), "sum_ms": p.sum_ms, "n_ops": p.n_ops, "measured_ms": p.measured_ms}
                              for p in self.points]}

    @staticmethod
    def from_json(data: dict) -> "Calibration":
        points = tuple(CalibrationPoint(tuple(p["ops"]), float(p["sum_ms"]), int(p["n_ops"]), float(p["measured_ms"]))
                       for p in data["fitted_on"])
        return Calibration(float(data["scale"]), float(data["per_op_ms"]), float(data["offset_ms"]), points)


def fit_calibration(points: list[CalibrationPoint]) -> Calibration:
    """Least-squares fit of (scale, per_op_ms, offset_ms); needs at least 4 subnets."""
    if len(points) < 4:
        raise ValueError(f"calibration needs at least 4 measured subnets, got {len(points)}")
    features = np.array([[p.sum_ms, p.n_ops, 1.0] for p in points])
    measured = np.array([p.measured_ms for p in points])
    (scale, per_op, offset), *_ = np.linalg.lstsq(features, measured, rcond=None)
    return Calibration(float(scale), float(per_op), float(offset), tuple(points))
