"""Reference drift: does the table's reference follow the archs near a target as the machine's speed moves?

    .venv/bin/python benchmarks/reference_drift.py --table latency_tables/local/demo-cpu.json [--runs 8] [--archs 5]

--archs random archs predicted inside [0.9 T, T] at the middle of the table's range, measured side by side
beside the table's reference (measuring/measure.py, one interleaved run each time) --runs times in a row.
Per run: the reference now against the table's, and the archs' measurements against their predictions,
raw and at the table's speed (median over the archs, and their range). A reference that follows the archs
keeps the table-speed figures near 1 while the raw ones move. One timing at a time: run nothing beside it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from hwnas.final_check.candidates import window_pool
from hwnas.latency.table import load_table
from hwnas.measuring.measure import measure_beside_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", required=True, help="a table of this machine")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--archs", type=int, default=5)
    args = parser.parse_args()
    table = load_table(args.table)
    fastest, slowest = table.latency_range_ms()
    target = (fastest + slowest) / 2
    archs = window_pool(table, 0.9 * target, target, args.archs, seed=0)
    named = {f"arch{i}": arch for i, arch in enumerate(archs)}
    print("| time | reference now / table | raw / predicted (median) | table's speed / predicted: median (range) |\n"
          "|---|---|---|---|")
    for _ in range(args.runs):
        side_by_side = measure_beside_reference(named, table)
        raw = [side_by_side.measurements[name].median_ms / table.predict_ms(arch) for name, arch in named.items()]
        rescaled = [side_by_side.measurements[name].at_table_speed_ms / table.predict_ms(arch)
                    for name, arch in named.items()]
        print(f"| {time.strftime('%H:%M:%S')} | {side_by_side.reference_now_ms / table.reference_ms:.3f} | "
              f"{statistics.median(raw):.3f} | {statistics.median(rescaled):.3f} ({min(rescaled):.3f}-{max(rescaled):.3f}) |",
              flush=True)


if __name__ == "__main__":
    main()
