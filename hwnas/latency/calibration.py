"""Calibration: from the sum of per-op medians to the latency of the whole network.

Each table entry is timed as its own ONNX Runtime session, so it pays the per-call
overhead (input/output handling, dispatch) once; a network pays it once in total. And each
entry is timed warm, its weights in the core's cache (timing.py says why); a network whose
weights exceed the 2 MB L2 cache streams them from further away. The model fitted on
measured random subnets is

    measured_ms ≈ scale · Σ entries_ms + per_op_ms · n_ops + per_weight_mb_ms · weight_mb + offset_ms

with n_ops the number of entries the network uses (stem, head and every non-zero layer) and
weight_mb the MB of float32 weights of its searchable layers (the fixed parts' are constant,
in the offset). What each term buys is measured in BENCHMARKS.md ("What changed the fidelity",
benchmarks/calibration_models.py): the per-op term matters where ops are small (networks with
more `zero` layers save the per-call overhead of each skipped op, which a scale cannot see), the
weight term where weights outgrow the L2 cache (proxyless_cifar).

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

from hwnas.files.numbers import count, milliseconds, non_negative

MODEL = "measured_ms = scale * sum_ms + per_op_ms * n_ops + per_weight_mb_ms * weight_mb + offset_ms"
# The models tried, richest first; a coefficient left out is 0. A small space has only a few distinct
# subnets, and 4 coefficients fitted on as many subnets reproduce them exactly and predict nonsense
# between them: each coefficient needs POINTS_PER_TERM distinct subnets.
TERMS = ("scale", "per_op_ms", "per_weight_mb_ms", "offset_ms")
FALLBACKS = (TERMS, ("scale", "per_op_ms", "offset_ms"), ("scale", "offset_ms"), ("scale",))
POINTS_PER_TERM = 2  # distinct measured subnets per fitted coefficient
# A model whose mean |error| on its own subnets is larger is refused: the fidelity goal is ±10%, and a fit
# that misses its own points by more on average is no prediction. Not tighter: a table of tiny subnets
# (mostly per-call overhead) timed on a busy machine fits less well than a real space's, and a refusal
# leaves the user no table at all; the fit error is stated in the table and `validate-table` reports the
# rest. A mean, so that one noisy subnet cannot refuse a model.
MAX_MEAN_FIT_ERROR_PCT = 10.0


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
    terms: tuple[str, ...] = TERMS  # the coefficients fitted (the others are 0)
    fit_error_pct: dict | None = None  # {"mean", "max"} |error| % on `points`
    note: str | None = None  # why richer models were refused, if any were

    def op_cost_ms(self, entry_ms: float, weight_mb: float) -> float:
        """Calibrated marginal cost of one non-zero op whose table median is entry_ms."""
        return max(0.0, self.scale * entry_ms + self.per_op_ms + self.per_weight_mb_ms * weight_mb)

    def fixed_cost_ms(self, stem_ms: float, head_ms: float) -> float:
        return self.scale * (stem_ms + head_ms) + 2 * self.per_op_ms + self.offset_ms

    def to_json(self) -> dict:
        return {"model": MODEL, "scale": self.scale, "per_op_ms": self.per_op_ms,
                "per_weight_mb_ms": self.per_weight_mb_ms, "offset_ms": self.offset_ms, "terms": list(self.terms),
                "fit_error_pct": self.fit_error_pct, "note": self.note,
                "fitted_on": [{"ops": list(p.ops), "sum_ms": p.sum_ms, "n_ops": p.n_ops, "weight_mb": p.weight_mb,
                               "measured_ms": p.measured_ms} for p in self.points]}

    def measured_error_pct(self) -> float:
        """Mean |error| in % of the model on the subnets it was fitted on (their measured medians)."""
        errors = [abs(sum(getattr(self, term) * feature(p, term) for term in TERMS) / p.measured_ms - 1) * 100
                  for p in self.points]
        return sum(errors) / len(errors)

    @staticmethod
    def from_json(data: dict) -> "Calibration":
        """Raises ValueError for values no measurement gives (NaN, or a scale ≤ 0: a table whose
        predictions fall as its entries grow) and for coefficients that do not reproduce the subnets
        they were fitted on (an edited `per_op_ms: -1` predicted negative latencies, `scale: 1e300`
        was taken); load_table turns it into a one-line TableError."""
        values = {name: float(data[name]) for name in TERMS}
        if not all(map(math.isfinite, values.values())) or values["scale"] <= 0:
            raise ValueError(f"calibration values must be finite with a positive scale, got {values}")
        points = tuple(CalibrationPoint(tuple(p["ops"]), milliseconds(p["sum_ms"], "a fitted subnet's sum_ms"),
                                        count(p["n_ops"], "a fitted subnet's n_ops", 1),
                                        non_negative(p["weight_mb"], "a fitted subnet's weight_mb"),
                                        milliseconds(p["measured_ms"], "a fitted subnet's measured_ms"))
                       for p in data["fitted_on"])
        if len(points) < POINTS_PER_TERM:  # nothing to check the coefficients against: they could be anything
            raise ValueError(f"the calibration names {len(points)} fitted subnets, and a fit needs at least "
                             f"{POINTS_PER_TERM}")
        calibration = Calibration(*values.values(), points, tuple(data.get("terms", TERMS)), data.get("fit_error_pct"),
                                  data.get("note"))
        if not calibration.measured_error_pct() <= MAX_MEAN_FIT_ERROR_PCT:
            raise ValueError(f"the calibration misses the {len(points)} subnets it was fitted on by "
                             f"{calibration.measured_error_pct():.3g}% on average (more than "
                             f"{MAX_MEAN_FIT_ERROR_PCT:.0f}%): its coefficients were changed after the fit")
        return calibration


def feature(point: CalibrationPoint, term: str) -> float:
    """What coefficient `term` multiplies for this subnet (MODEL)."""
    return {"scale": point.sum_ms, "per_op_ms": point.n_ops, "per_weight_mb_ms": point.weight_mb, "offset_ms": 1.0}[term]


def fit_calibration(points: list[CalibrationPoint]) -> Calibration:
    """Least squares of the richest model in FALLBACKS that has POINTS_PER_TERM distinct subnets
    per coefficient, independent features, a positive scale and a mean |error| on its own points
    within MAX_MEAN_FIT_ERROR_PCT; the refused richer models are named in `note`.
    Raises ValueError (with every reason) when not even `scale` alone qualifies."""
    distinct = len({(round(p.sum_ms, 9), p.n_ops, round(p.weight_mb, 9)) for p in points})
    measured = np.array([p.measured_ms for p in points])
    refused = []
    for terms in FALLBACKS:
        if distinct < POINTS_PER_TERM * len(terms):
            refused.append(f"{len(terms)} terms need {POINTS_PER_TERM * len(terms)} distinct subnets, got {distinct}")
            continue
        features = np.array([[feature(p, term) for term in terms] for p in points])
        if np.linalg.matrix_rank(features) < len(terms):
            refused.append(f"{len(terms)} terms: the subnets do not tell {', '.join(terms)} apart")
            continue
        coefficients, *_ = np.linalg.lstsq(features, measured, rcond=None)
        values = {**dict.fromkeys(TERMS, 0.0), **dict(zip(terms, map(float, coefficients)))}
        errors = np.abs(features @ coefficients / measured - 1) * 100
        if not values["scale"] > 0:
            refused.append(f"{len(terms)} terms: scale {values['scale']:.3f} ≤ 0")
        elif errors.mean() > MAX_MEAN_FIT_ERROR_PCT:
            refused.append(f"{len(terms)} terms: misses its own subnets by {errors.mean():.0f}% on average")
        else:
            return Calibration(*values.values(), tuple(points), terms,
                               {"mean": float(errors.mean()), "max": float(errors.max())}, "; ".join(refused) or None)
    raise ValueError(f"no calibration fits the {len(points)} measured subnets: {'; '.join(refused)}")
