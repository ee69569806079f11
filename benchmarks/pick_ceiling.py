"""Pick ceiling: how far above a random arch can any pick at one latency get, on this ground truth?

    .venv/bin/python benchmarks/pick_ceiling.py --data-root ../shared/data/fashion-7k \
        [--targets 0.25 0.5 0.75] [--random 12] [--seeds 0 1 2] [--retrain-options "..."] [--out runs/pick_ceiling]

search_quality.py judges a delivered arch against --random archs drawn inside [0.95 T, T]. This asks what
the best possible score could deliver there: the truth itself. At each target the same random archs
(ranking.py's equal-latency group, so search_quality.py's retrains are reused: cached, run if missing),
and, for every subset of K of them and every seed s, the arch with the best test accuracy for seed s
alone, judged by its mean over the other seeds against the median, the 80th percentile and
the median + two pooled seed sds of the other seeds' means (search_quality.py's first two conditions).
One seed of the full retrain is the score a final check that trains every candidate as long as the
truth does would have, on the test split itself: no score that sees only the train and arch splits
does better except by chance. Every subset of K is enumerated, so nothing here is drawn at random.
Writes OUT/pick_ceiling.json.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

import numpy as np

from ground_truth import Cache, cache_path
from ranking import target_at_share, window_group
from search_quality import accuracy_checks, pooled_seed_sd, retrained_rows
from hwnas.files.atomic import write_json
from hwnas.latency.table import load_table
from hwnas.net.space import load_space

SUBSET_SIZES = (1, 2, 4, 8)


def held_out_picks(rows: list[dict], size: int) -> dict:
    """Best of every `size`-subset by one seed, judged on the others: mean gain over the median (points)
    and the share of picks meeting each accuracy condition."""
    seeds, sd = range(len(rows[0]["accuracies"])), pooled_seed_sd(rows)
    gains, met = [], []
    for seed in seeds:
        judged = [statistics.mean(a for s, a in enumerate(r["accuracies"]) if s != seed) for r in rows]
        median = statistics.median(judged)
        for subset in itertools.combinations(range(len(rows)), size):
            pick = max(subset, key=lambda i: rows[i]["accuracies"][seed])
            gains.append(judged[pick] - median)
            met.append(accuracy_checks(judged[pick], judged, sd))
    return {"size": size, "gain_points": 100 * statistics.mean(gains),
            "met": {c: statistics.mean(m[c] for m in met) for c in met[0]}}


def ceiling_at(share: float, args, space, table, cache: Cache) -> dict:
    target = target_at_share(table, share)
    archs = window_group(space, table, args.random, target, args.seed)
    rows = retrained_rows([("random", arch) for arch in archs], table, args.seeds, args.data_root, cache,
                          tuple(args.retrain_options.split()))
    means, sd = [r["mean"] for r in rows], pooled_seed_sd(rows)
    return {"share": share, "target_ms": target, "pooled_seed_sd_points": 100 * sd,
            "means_sd_points": 100 * statistics.stdev(means),
            "median": 100 * statistics.median(means), "p80": 100 * float(np.percentile(means, 80)),
            "bar": 100 * (statistics.median(means) + 2 * sd), "best_mean": 100 * max(means),
            "picks": [held_out_picks(rows, size) for size in sorted({*SUBSET_SIZES, len(rows)}) if size <= len(rows)],
            "archs": rows}


def report(results: list[dict]) -> None:
    print("\n| target | seed sd | sd of the means | median / p80 / median + 2 sd | best mean (3 seeds, in-sample) |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['share']:.0%} ({r['target_ms']:.4f} ms) | {r['pooled_seed_sd_points']:.2f} | "
              f"{r['means_sd_points']:.2f} | {r['median']:.2f} / {r['p80']:.2f} / {r['bar']:.2f} | {r['best_mean']:.2f} |")
    print("\n| target | best of K by one seed, judged on the others: gain over the median (share ≥ p80, share > median + 2 sd) |")
    print("|---|---|")
    for r in results:
        cells = [f"K={p['size']}: {p['gain_points']:+.2f} ({', '.join(f'{v:.0%}' for v in p['met'].values())})"
                 for p in r["picks"]]
        print(f"| {r['share']:.0%} | {'; '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.25, 0.5, 0.75])
    parser.add_argument("--random", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain-options", default="", help="more `hwnas retrain` options, one string")
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    parser.add_argument("--seed", type=int, default=0, help="seed of ranking.py's arch draws")
    parser.add_argument("--out", default="runs/pick_ceiling")
    args = parser.parse_args()
    if len(args.seeds) < 2:
        parser.error("--seeds needs two or more: one picks, the others judge")
    space = load_space(args.space)
    table = load_table(args.table, space)
    cache = Cache(args.cache or cache_path(args.data_root))
    results = [ceiling_at(share, args, space, table, cache) for share in args.targets]
    write_json(Path(args.out) / "pick_ceiling.json", {"settings": vars(args), "targets": results})
    report(results)


if __name__ == "__main__":
    main()
