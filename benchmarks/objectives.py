"""Where does each latency objective leave the search? The demo search (digits) per variant.

    .venv/bin/python benchmarks/objectives.py [--out runs/bench_objectives]

Variants, each one `hwnas search --config recipes/search_demo.yaml` with one option changed:
  add_linear, mul_log  the ProxylessNAS forms (at the recipe's arch_lr, and add_linear also at the
                       previous recipe's 0.003), abs_ratio (the default), gumbel mode (abs_ratio);
  abs_ratio again at 25% and 75% of the table's latency range.
Reports per run: E[lat] at the end of the search, the plain argmax arch's prediction, the
derived arch's prediction and its measurement on this machine (derive/on_device.py), the
smallest top probability over the layers, and the wall time of the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

from ranking import target_at_share
from hwnas.cli import main as hwnas
from hwnas.latency.table import load_table
from hwnas.net.space import load_space

RECIPE, SPACE, TABLE = "recipes/search_demo.yaml", "recipes/spaces/demo.yaml", "latency_tables/demo-cpu.json"


def last_expected_latency(run_dir: Path) -> float:
    rows = [r for r in csv.DictReader((run_dir / "logs/metrics.csv").open()) if r.get("arch/expected_latency_ms")]
    return float(rows[-1]["arch/expected_latency_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/bench_objectives")
    args = parser.parse_args()
    table = load_table(TABLE, load_space(SPACE))
    fastest, slowest = table.latency_range_ms()
    recipe_target = 0.08
    quarter, three_quarters = (target_at_share(table, share) for share in (0.25, 0.75))
    variants = [
        ("add_linear, arch_lr 0.003", recipe_target, ["--model.loss.form", "add_linear", "--model.algorithm.arch_lr", "0.003"]),
        ("add_linear", recipe_target, ["--model.loss.form", "add_linear"]),
        ("mul_log", recipe_target, ["--model.loss.form", "mul_log"]),
        ("abs_ratio", recipe_target, []),
        ("gumbel, abs_ratio", recipe_target, ["--model.algorithm", "Gumbel", "--model.algorithm.arch_lr", "0.1"]),
        ("abs_ratio", quarter, []),
        ("abs_ratio", three_quarters, []),
    ]
    print(f"latency range of the demo space (table): {fastest:.4f}-{slowest:.4f} ms\n")
    print("| variant | T ms | E[lat] end ms | argmax predicted ms | derived predicted ms | derived measured ms "
          "| in [0.9T, T] | min top p | run s |\n|---|---|---|---|---|---|---|---|---|")
    for index, (name, target, options) in enumerate(variants):
        run_dir = Path(args.out) / f"run{index}"
        started = time.perf_counter()
        if hwnas(["search", "--config", RECIPE, "--run_dir", str(run_dir), "--model.target_ms", str(target),
                  "--trainer.enable_progress_bar", "false", *options]) != 0:
            raise SystemExit(f"search {name} failed")
        seconds = time.perf_counter() - started
        summary = json.loads((run_dir / "search.json").read_text())
        print(f"| {name} | {target} | {last_expected_latency(run_dir):.4f} | {summary['argmax']['predicted_ms']:.4f} | "
              f"{summary['predicted_ms']:.4f} | {summary['measured_at_table_speed_ms']:.4f} | {summary['target_met']} | "
              f"{summary['decision']['min_top_probability']:.2f} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
