"""Hit rate: how often does a derived arch measure inside its window [0.9 T, T] on this machine?

    .venv/bin/python benchmarks/hit_rate.py --ckpt runs/demo/search/checkpoints/last.ckpt \
        [--table latency_tables/local/demo-cpu.json] [--targets 20] [--out runs/bench_hit_rate]

One trained supernet, --targets targets spread evenly over 5-95% of the table's range; at each the
search's own derive (derive/on_device.py: the most probable arch predicted in the window, measured
at the table's speed, the budget corrected at most twice) as `hwnas derive` runs it. No
retraining: latency does not depend on the weights. Reported: the share of targets whose chosen
arch measured inside [0.9 T, T] at the table's speed (what `target_met` judges), the raw share beside
it, and the tries per target; with --compare-room, the hit share of other first-look bounds measured
right after the default at every target. The table must be this machine's (it is measured here). Writes
OUT/hit_rate.json and OUT/hit_rate.png (measured / T over the targets). After all the derives, the
derived archs are measured again one by one, as an export minutes later judges its arch: the share
still inside the window is `hit_rate_again`. One timing at a time: run
nothing else beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hwnas.files.atomic import save_figure, write_json
from hwnas.derive.on_device import derive_for_target, measure_arch
from hwnas.measuring.device_identity import differences_from_here
from hwnas.net.arch import Arch
from hwnas.records.arch_record import in_window
from hwnas.records.search_checkpoint import load_search_checkpoint

FLOOR = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--table", default=None, help="default: the table the search used")
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--out", default="runs/bench_hit_rate")
    parser.add_argument("--compare-room", type=float, nargs=2, default=None, metavar=("FLOOR_ROOM", "HEADROOM"),
                        help="also derive with these first-look bounds at every target, right after the default "
                             "(e.g. 1.0 0.95, the bounds before 2026-12-02), and report both hit shares")
    args = parser.parse_args()
    checkpoint = load_search_checkpoint(args.ckpt)
    table = checkpoint.open_table(args.table)
    ref = table.ref
    differences = differences_from_here(table.device)
    if differences:
        raise SystemExit(f"the table is not this machine's ({'; '.join(differences)}): onboard one first")
    probabilities = [p.detach() for p in checkpoint.supernet.probabilities()]
    fastest, slowest = table.latency_range_ms()
    rows = []
    started = time.perf_counter()
    for share in np.linspace(0.05, 0.95, args.targets):
        target = float(fastest + share * (slowest - fastest))
        arch, provenance = derive_for_target(probabilities, table, target, FLOOR)
        m = provenance.measurement
        rows.append({"target_ms": target, "ops": list(arch.ops), "predicted_ms": provenance.predicted_ms,
                     "measured_ms": m.median_ms, "measured_at_table_speed_ms": m.at_table_speed_ms,
                     "tries": len(provenance.tries), "hit": in_window(m.at_table_speed_ms, FLOOR, target),
                     "raw_hit": in_window(m.median_ms, FLOOR, target)})
        print(f"T {target:.4f} ms: measured {m.at_table_speed_ms / target:.3f} T at the table's speed "
              f"({m.median_ms / target:.3f} T raw), {len(provenance.tries)} tries")
        if args.compare_room:
            rows[-1]["compared"] = compare_room(args.compare_room, probabilities, table, target)
    seconds = time.perf_counter() - started
    measure_again(rows, table)
    result = {"checkpoint": str(Path(args.ckpt).resolve()), "table": ref.to_json(), "floor": FLOOR,
              "seconds": seconds, "hit_rate": float(np.mean([r["hit"] for r in rows])),
              "raw_hit_rate": float(np.mean([r["raw_hit"] for r in rows])),
              "hit_rate_again": float(np.mean([r["hit_again"] for r in rows])), "targets": rows}
    out = Path(args.out)
    write_json(out / "hit_rate.json", result)
    plot(rows, out / "hit_rate.png")
    if args.compare_room:
        result["compared"] = {"room": args.compare_room,
                              "hit_rate": float(np.mean([in_window(r["compared"], FLOOR, 1.0) for r in rows]))}
    print(json.dumps({k: result[k] for k in ("hit_rate", "raw_hit_rate", "hit_rate_again", "seconds", "compared")
                      if k in result}))


def measure_again(rows: list[dict], table) -> None:
    """Every target's derived arch measured again after all the derives, on its own as the derive and
    an export minutes later measure it: `measured_again_ms` at the table's speed and `hit_again`."""
    for row in rows:
        row["measured_again_ms"] = measure_arch(Arch(table.space, tuple(row["ops"])), table).at_table_speed_ms
        row["hit_again"] = in_window(row["measured_again_ms"], FLOOR, row["target_ms"])


def compare_room(room: list[float], probabilities, table, target: float) -> float:
    """Measured / T at the table's speed of the derive with other first-look bounds."""
    _, provenance = derive_for_target(probabilities, table, target, FLOOR, room=tuple(room))
    return provenance.measurement.at_table_speed_ms / target


def plot(rows: list[dict], path: Path) -> None:
    figure = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = figure.subplots()
    targets = [r["target_ms"] for r in rows]
    ax.axhspan(FLOOR, 1.0, color="tab:green", alpha=0.15, label=f"window [{FLOOR} T, T]")
    ax.plot(targets, [r["measured_at_table_speed_ms"] / r["target_ms"] for r in rows], "o", label="at the table's speed")
    ax.plot(targets, [r["measured_ms"] / r["target_ms"] for r in rows], "x", color="gray", label="raw")
    ax.set_xlabel("target T (ms)")
    ax.set_ylabel("measured / T")
    ax.legend(fontsize=8)
    save_figure(figure, path)


if __name__ == "__main__":
    main()
