"""Onboarding a machine from another machine's table, against a full profile of this machine.

For each space: profile this machine in full (timed: the "profile in ≤ 60 s / 3 min" numbers),
onboard it from the committed table (another machine's) with N = 5, 10 and 20 measured subnets
(timed), then score every table on the same measurement: 30 fresh subnets, calibrated by none
of them, timed whole twice beside the full profile's anchors (measuring/fidelity.py; the other tables'
speeds carried by their reference times). Reported per table: mean
|error| and share within ±10% of the normalized prediction, Kendall τ, and the raw figures;
the second run against the first is the noise floor. Writes JSON to --out and prints a table.

    .venv/bin/python benchmarks/onboarding.py --out runs/bench_onboarding.json   (~8 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hwnas.latency.table import load_table
from hwnas.measuring.fidelity import calibration_ops, fidelity_report, fresh_archs, measure_twice
from hwnas.net.space import load_space
from hwnas.profile.onboard import OnboardError, onboard_table
from hwnas.profile.profile import profile_space


def bench_space(name: str, subnet_counts: list[int], samples: int) -> dict:
    space = load_space(f"recipes/spaces/{name}.yaml")
    source_path = f"latency_tables/{name}-cpu.json"
    source = load_table(source_path, space)
    start = time.perf_counter()
    tables = {"full profile": profile_space(space)}
    seconds = {"full profile": time.perf_counter() - start}
    refused = {}
    for count in subnet_counts:
        start = time.perf_counter()
        try:
            tables[f"onboarded, {count} subnets"] = onboard_table(source, subnets=count)
        except OnboardError as error:  # the calibration refused to fit: reported, not scored
            refused[f"onboarded, {count} subnets"] = str(error)
        seconds[f"onboarded, {count} subnets"] = time.perf_counter() - start
    tables["committed table as is"] = source
    used = set().union(*(calibration_ops(table) for table in tables.values()))
    archs = fresh_archs(tables["full profile"], samples, seed=1, also_exclude=used)
    measured = measure_twice(tables["full profile"], archs)
    rows = {}
    for label, table in tables.items():
        report = fidelity_report(table, measured)
        rows[label] = {"seconds": seconds.get(label), "raw": report["raw"], "normalized": report["normalized"],
                       "reference_ms": table.reference_ms}
    floor = fidelity_report(tables["full profile"], measured)["second_measurement"]
    return {"space": name, "source": {"path": source_path, "cpu": source.device.get("cpu"),
                                      "reference_ms": source.reference_ms},
            "reference_here_ms": measured.runs[0].reference_now_ms, "samples": len(archs), "tables": rows,
            "refused": refused, "noise_floor": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spaces", nargs="+", default=["demo", "proxyless_cifar"])
    parser.add_argument("--subnets", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--out", default="runs/bench_onboarding.json")
    args = parser.parse_args()
    results = [bench_space(name, args.subnets, args.samples) for name in args.spaces]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    for result in results:
        print(f"\n{result['space']}: source {result['source']['path']} (reference {result['source']['reference_ms']:.4f} "
              f"ms there, {result['reference_here_ms']:.4f} ms here), {result['samples']} fresh subnets")
        print(f"{'table':28s} {'seconds':>8s} {'mean|err|':>9s} {'±10%':>6s} {'tau':>6s}   raw: {'mean|err|':>9s} {'tau':>6s}")
        for label, row in result["tables"].items():
            n, r = row["normalized"], row["raw"]
            took = f"{row['seconds']:.1f}" if row["seconds"] is not None else "-"
            print(f"{label:28s} {took:>8s} {n['mean_abs_error_pct']:8.1f}% {n['within_10_pct']:6.0%} "
                  f"{n['kendall_tau']:6.3f}   raw: {r['mean_abs_error_pct']:8.1f}% {r['kendall_tau']:6.3f}")
        for label, why in result["refused"].items():
            print(f"{label:28s} refused: {why}")
        f = result["noise_floor"]
        print(f"{'second run vs first (floor)':28s} {'':>8s} {f['mean_abs_error_pct']:8.1f}% {f['within_10_pct']:6.0%} "
              f"{f['kendall_tau']:6.3f}")


if __name__ == "__main__":
    main()
