"""Capacity: does a bigger arch retrain to a higher accuracy, under the benchmark's retrain or a variant?

    .venv/bin/python benchmarks/capacity.py --data-root ../shared/data/fashion-7k \
        [--archs 6] [--seed 0] [--variant NAME=OPTIONS ...] [--without-plain]

A ranking benchmark can only reach a high τ over the latency range if its truth rewards capacity.
The archs: --archs of ranking.py's spread group (same draw, evenly spaced by latency, fastest and slowest
included), each retrained with benchmarks/retrain_bench.yaml (seed --seed) as it is ("plain", the
ranking's truth, cached) and with every --variant's extra `hwnas retrain` options, e.g.
    crop_flip="--data.init_args.augment crop_flip"
    crop_flip_24="--data.init_args.augment crop_flip --trainer.max_epochs 24"
--without-plain leaves the plain recipe out, for a data folder where it would take hours (a larger train split,
with a variant of fewer epochs). Reported per recipe: each arch's test accuracy beside its parameter count, and
Kendall τ of the two (positive: capacity pays). Retrains are cached with the ranking's (benchmarks/ground_truth.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from ground_truth import Cache, Retrain, cache_path, retrain_all
from ranking import choose_archs
from hwnas.latency.table import load_table
from hwnas.net.memory import arch_weight_count
from hwnas.net.space import load_space

SPREAD = 24  # ranking.py's default spread group, so the plain recipe's retrains are its cached truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--archs", type=int, default=6, help="of the ranking's 24 spread archs, evenly spaced")
    parser.add_argument("--seed", type=int, default=0, help="retrain seed")
    parser.add_argument("--variant", nargs="*", default=[], metavar="NAME=OPTIONS")
    parser.add_argument("--without-plain", action="store_true", help="retrain with the variants only")
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    args = parser.parse_args()
    space = load_space(args.space)
    table = load_table(args.table, space)
    fastest, slowest = table.latency_range_ms()
    spread = sorted((arch for group, arch in choose_archs(space, table, SPREAD, 0, (fastest + slowest) / 2, 0)
                     if group == "spread"), key=table.predict_ms)
    archs = [spread[int(i)] for i in np.linspace(0, SPREAD - 1, args.archs).round()]
    recipes = ({} if args.without_plain else {"plain": ()}) | {
        name: tuple(options.split()) for name, options in (variant.split("=", 1) for variant in args.variant)}
    if not recipes:
        parser.error("--without-plain needs at least one --variant")
    cache = Cache(args.cache or cache_path(args.data_root))
    retrains = {name: [Retrain(arch, args.seed, args.data_root, options=options) for arch in archs]
                for name, options in recipes.items()}
    found = retrain_all([r for group in retrains.values() for r in group], cache)
    accuracies = {name: [found[r] for r in group] for name, group in retrains.items()}
    parameters = [arch_weight_count(arch) for arch in archs]
    print("| arch | predicted ms | parameters | " + " | ".join(recipes) + " |\n|---|---|---|" + "---|" * len(recipes))
    for index, (arch, count) in enumerate(zip(archs, parameters)):
        cells = [f"{100 * values[index]:.1f}" for values in accuracies.values()]
        print(f"| {' '.join(arch.ops)} | {table.predict_ms(arch):.3f} | {count:,} | " + " | ".join(cells) + " |")
    taus = [kendalltau(parameters, values).statistic for values in accuracies.values()]
    print("| τ (parameters, accuracy) | | | " + " | ".join(f"{tau:+.2f}" for tau in taus) + " |")


if __name__ == "__main__":
    main()
