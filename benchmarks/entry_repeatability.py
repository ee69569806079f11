"""Is a table's ranking error measurement noise in its entries? Re-time the entries and see.

    .venv/bin/python benchmarks/entry_repeatability.py latency_tables/proxyless_cifar-cpu.json [--runs 3]

Writes a kit of the table's space (entries, reference and the 5 subnets a kit needs), times
it `--runs` times (fresh sessions each run, the table's protocol), and predicts the fresh
subnets of the table's fidelity report from each run's entries with the table's own
calibration. Prints Kendall τ of each run's predictions against the report's measurements,
and between runs. If the runs agree with each other far better than with the measurements,
the entries are repeatable and the error is in the model, not in the timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile

import numpy as np
from scipy.stats import kendalltau

from hwnas.latency.calibration import POINTS_PER_TERM, TERMS
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.profile.kit import import_results, write_kit
from hwnas.profile.kit_runner import run_kit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = load_table(args.table)
    if table.fidelity is None:
        raise SystemExit(f"{args.table}: has no fidelity report to compare with (`make bench`)")
    points = table.fidelity["points"]
    archs = [Arch(table.space, tuple(p["ops"])) for p in points]
    measured = np.array([p["measured_ms"] for p in points])
    predictions = []
    with tempfile.TemporaryDirectory(prefix="hwnas-entries-") as folder:
        write_kit(table.space, folder, device=table.device.kind, threads=table.device.threads,
                  calibration_samples=POINTS_PER_TERM * len(TERMS))
        for run in range(args.runs):
            rerun = dataclasses.replace(import_results(run_kit(folder)), calibration=table.calibration)
            predictions.append(np.array([rerun.predict_ms(arch) for arch in archs]))
            print(f"run {run}: τ vs measured {kendalltau(predictions[-1], measured).statistic:.3f}", flush=True)
    committed = np.array([table.predict_ms(arch) for arch in archs])
    print(f"the table's own entries: τ vs measured {kendalltau(committed, measured).statistic:.3f}")
    for (i, a), (j, b) in itertools.combinations(enumerate(predictions), 2):
        print(f"runs {i} and {j}: τ {kendalltau(a, b).statistic:.3f}, mean |difference| "
              f"{np.mean(np.abs(a / b - 1)) * 100:.2f}%")


if __name__ == "__main__":
    main()
