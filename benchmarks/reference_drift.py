"""Reference drift: which of the table's subnets follow an arch's speed as the machine's speed moves?

    .venv/bin/python benchmarks/reference_drift.py --table latency_tables/local/demo-cpu.json [--runs 30]

Three random archs predicted inside [0.9 T, T] at each of 25, 50 and 75% of the table's range are timed
--runs times in a row, each time in one interleaved run (measuring/measure.py, `time_beside`) beside
every anchor of the table (its reference and calibration subnets). From the same runs, each arch's
figure at the table's speed is computed three ways:
  reference   raw × reference(table) / reference(now), the one small subnet
  all         raw ÷ the median over every anchor of now / table
  nearest     raw ÷ the median over the NEAREST_ANCHORS anchors nearest its prediction (what hwnas does)
A rescale that follows the archs keeps each arch's figure where it is from run to run while the raw
one moves. Reported per way: |deviation| of one run's figure from that arch's median over all runs
(median, 90th percentile, max), and of the median of MEASUREMENT_RUNS consecutive runs (what a
measurement reports). One timing at a time: run nothing beside it.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from hwnas.final_check.candidates import window_pool
from hwnas.latency.table import load_table
from hwnas.measuring.measure import (MEASUREMENT_RUNS, REFERENCE, anchor_speed, nearest_anchors, speed_anchors,
                                     time_beside)

SHARES = (0.25, 0.5, 0.75)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="a table of this machine")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    table = load_table(args.table)
    fastest, slowest = table.latency_range_ms()
    archs = {}
    for share in SHARES:
        target = fastest + share * (slowest - fastest)
        archs.update({f"{share:.0%} #{i}": arch for i, arch in enumerate(window_pool(table, 0.9 * target, target, 3,
                                                                                     seed=0))})
    predicted = {name: table.predict_ms(arch) for name, arch in archs.items()}
    anchors = speed_anchors(table)
    ways = {"reference": {name: [REFERENCE] for name in archs}, "all": {name: list(anchors) for name in archs},
            "nearest": {name: nearest_anchors(anchors, predicted[name]) for name in archs}}
    rescaled = {way: [] for way in ways}  # way → per run, per arch: at the table's speed / predicted
    raw = []
    for run in range(args.runs):
        stats = time_beside(archs, table, {name: anchor.arch for name, anchor in anchors.items()},
                            device=table.device.kind, threads=table.device.threads, seed=run)
        raw.append([stats[name]["median_ms"] / predicted[name] for name in archs])
        for way, judged_on in ways.items():
            rescaled[way].append([stats[name]["median_ms"] / predicted[name]
                                  / anchor_speed(stats, anchors, judged_on[name]) for name in archs])
        reference_speed = stats[REFERENCE]["median_ms"] / table.reference_ms
        print(f"run {run + 1}/{args.runs}: reference now / table {reference_speed:.3f}, "
              f"raw / predicted (median over archs) {statistics.median(raw[-1]):.3f}", flush=True)
    print(f"\n{len(archs)} archs, {len(anchors)} anchors, {args.runs} runs\n"
          f"| rescaled by | one run: median / p90 / max |dev| "
          f"| median of {MEASUREMENT_RUNS} runs: median / p90 / max |dev| | figure / predicted (median) |\n|---|---|---|---|")
    for way, figures in {"raw (none)": raw, **rescaled}.items():
        figures = np.array(figures)  # runs × archs
        centre = np.median(figures, axis=0)
        blocks = np.array([np.median(figures[i:i + MEASUREMENT_RUNS], axis=0)
                           for i in range(0, len(figures) - MEASUREMENT_RUNS + 1, MEASUREMENT_RUNS)])
        one, several = (np.abs(values / centre - 1).ravel() * 100 for values in (figures, blocks))
        print(f"| {way} | {np.median(one):.1f} / {np.percentile(one, 90):.1f} / {one.max():.1f} % | "
              f"{np.median(several):.1f} / {np.percentile(several, 90):.1f} / {several.max():.1f} % | "
              f"{np.median(figures):.3f} |")


if __name__ == "__main__":
    main()
