"""Which subnets to measure on a new device so that a calibration fitted on a few of them predicts the rest.

The calibration (calibration.py) is a linear model in its features, the source table's sum Σ entries,
the number of ops and the weight MB (plus an offset). Fitted on ~20 measurements with a few percent of
noise each, its coefficients are only as good as the spread of those features over the measured
subnets: random subnets, or subnets at quantiles of the predicted latency, have the three features
nearly collinear (a subnet that predicts slower has more ops and more weights), and the fit
extrapolates along the directions they did not span.

So the subnets are a greedy D-optimal design over a pool: with the features standardised over the
pool (z, plus a 1 for the offset), each next subnet maximises z·M⁻¹·z, M = Σ z zᵀ over those chosen so
far (the one the chosen ones predict worst; each choice multiplies det M by 1 + z·M⁻¹·z, the most it can).
It starts from the subnets that must be measured anyway (the reference) and the pool's fastest and slowest
by the table's prediction, so that the measurements span the latency range whatever else they span.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwnas.latency.calibration import TERMS, feature
from hwnas.latency.table import LatencyTable
from hwnas.net.arch import Arch

RIDGE = 1e-6  # added to M's diagonal so that M⁻¹ exists while fewer subnets than terms are chosen


def design_features(table: LatencyTable, archs: Sequence[Arch]) -> np.ndarray:
    """(archs, terms): each subnet's calibration features, from the table alone (nothing measured)."""
    points = [table.calibration_point(arch, measured_ms=1.0) for arch in archs]
    return np.array([[feature(point, term) for term in TERMS] for point in points])


def spread_subnets(table: LatencyTable, pool: Sequence[Arch], count: int, first: Sequence[Arch] = ()) -> list[Arch]:
    """`count` distinct subnets, `first` (measured anyway) then picks from `pool` (module docstring)."""
    candidates = list({arch.ops: arch for arch in [*first, *pool]}.values())
    features = design_features(table, candidates)
    spread = features.std(0)
    z = (features - features.mean(0)) / np.where(spread > 0, spread, 1.0)
    z[:, [term == "offset_ms" for term in TERMS]] = 1.0
    by_sum = np.argsort(features[:, TERMS.index("scale")], kind="stable")
    chosen = list(dict.fromkeys([*range(len({a.ops for a in first})), int(by_sum[0]), int(by_sum[-1])]))[:count]
    information = z[chosen].T @ z[chosen] + RIDGE * np.eye(z.shape[1])
    while len(chosen) < min(count, len(candidates)):
        gain = np.einsum("ij,jk,ik->i", z, np.linalg.inv(information), z)
        gain[chosen] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        information += np.outer(z[best], z[best])
    return [candidates[i] for i in chosen]
