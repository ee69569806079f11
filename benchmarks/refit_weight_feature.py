"""The calibration's weight feature, before and after it became the one weight count of hwnas
(hwnas/net/memory.py: the weights as deployed, batch norm folded into the convolutions).
No timing: reads what the committed tables stored when they were measured.

    .venv/bin/python benchmarks/refit_weight_feature.py latency_tables/*.json            # report
    .venv/bin/python benchmarks/refit_weight_feature.py --write latency_tables/*.json    # and re-fit

Per table with a measured calibration and a fidelity report, the fresh subnets of that report
predicted three ways, each judged at the table's speed (normalized, as `validate-table` does):
  as validated   the predictions stored in the report (the old feature, the coefficients fitted on it)
  committed      the committed coefficients applied to today's feature (what hwnas predicts before --write)
  re-fitted      the coefficients fitted again on the stored calibration subnets with today's feature
--write replaces the calibration with the re-fitted one and recomputes the report's predictions from
its stored measurements (the measurements themselves are untouched), then redraws its scatter plot.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from hwnas.latency.calibration import fit_calibration
from hwnas.latency.table import arch_weight_mb, load_table, save_table
from hwnas.measuring.fidelity import agreement, plot_fidelity
from hwnas.net.arch import Arch


def refit(path: Path, write: bool) -> str | None:
    table = load_table(path)
    if table.calibration is None or table.fidelity is None or "points" not in table.fidelity:
        return None
    report = table.fidelity
    old_points = table.calibration.points
    new_points = [dataclasses.replace(p, weight_mb=arch_weight_mb(Arch(table.space, p.ops))) for p in old_points]
    feature_change = max(abs(n.weight_mb / o.weight_mb - 1) * 100 if o.weight_mb else 0.0
                         for o, n in zip(old_points, new_points))
    archs = [Arch(table.space, tuple(p["ops"])) for p in report["points"]]
    measured = np.array([p["measured_ms"] for p in report["points"]])
    # each subnet's speed in the run relative to the table's, as the report rescaled it
    speed = np.array([p["normalized_ms"] / p["predicted_ms"] for p in report["points"]])
    as_validated = np.array([p["normalized_ms"] for p in report["points"]])
    committed = np.array([table.predict_ms(a) for a in archs]) * speed
    refitted_table = dataclasses.replace(table, calibration=fit_calibration(new_points))
    predicted = np.array([refitted_table.predict_ms(a) for a in archs])
    refitted = predicted * speed
    rows = [(name, agreement(values, measured)) for name, values in
            [("as validated", as_validated), ("committed", committed), ("re-fitted", refitted)]]
    lines = [f"{path.name}: weight feature moved by up to {feature_change:.1f}% on its "
             f"{len(old_points)} calibration subnets; {len(archs)} fresh subnets"]
    lines += [f"  {name:13s} mean |err| {r['mean_abs_error_pct']:5.2f}%  max {r['max_abs_error_pct']:5.2f}%  "
              f"±10% {r['within_10_pct']:4.0%}  τ {r['kendall_tau']:.3f}" for name, r in rows]
    if write:
        refitted_table.fidelity = {
            **report, "method": refitted_table.method,
            "raw": agreement(predicted, measured), "normalized": agreement(refitted, measured),
            "points": [{**p, "predicted_ms": float(raw), "normalized_ms": float(norm)}
                       for p, raw, norm in zip(report["points"], predicted, refitted)]}
        save_table(refitted_table, path)
        plot = path.with_suffix(".fidelity.png")
        if plot.exists():
            plot_fidelity(refitted_table.fidelity, f"{path.name}: {len(archs)} fresh subnets", plot)
        lines.append(f"  wrote the re-fitted calibration into {path}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", type=Path)
    parser.add_argument("--write", action="store_true", help="re-fit the tables in place")
    args = parser.parse_args()
    for path in args.tables:
        report = refit(path, args.write)
        print(report if report else f"{path.name}: no measured calibration with a fidelity report, skipped")


if __name__ == "__main__":
    main()
