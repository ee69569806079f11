"""Window pick: what would each score deliver at T, retrained beside random archs of the same latency?

    .venv/bin/python benchmarks/window_pick.py --data-root ../shared/data/fashion-7k \
        --supernets sandwich=runs/ranking/supernet_sandwich/checkpoints/last.ckpt [NAME=CKPT ...] \
        [--target-share 0.5] [--pool 64] [--seeds 0 1 2] [--retrain-options "..."] [--out runs/window_pick]

The final check's first step (final_check/candidates.py) ranks a pool of archs drawn inside the window
by a score and keeps the best; with one candidate that best arch is what the search delivers. This asks,
per score, whether that arch is better than a user's pick at the same latency, without a search:
  pool           --pool archs drawn uniformly inside [0.95 T, T] (window_pool, seed --seed), T = --target-share
                 of the table's range, as benchmarks/ranking.py places its window
  picks          the pool's best by the parameter count, and for every --supernets checkpoint (a trained
                 one-shot supernet, e.g. benchmarks/ranking.py's) its best by the supernet's score and by
                 the rank average of the two (the final check's rank_by supernet / parameters / both), and by
                 the supernet's rank averaged with the depth's (benchmarks/ranking.py's "layers that compute")
  most params    the arch with the most weights predicted inside [0.95 T, T] (search_quality.py's)
  random         benchmarks/ranking.py's equal-latency group at T: the same archs, so its retrains are reused
each retrained for every seed with benchmarks/retrain_bench.yaml and --retrain-options (benchmarks/ground_truth.py,
cached). Per pick, search_quality.py's three accuracy conditions. Latency is not measured here: every pick is
predicted inside [0.95 T, T]; whether the search lands there on the device is benchmarks/hit_rate.py's question.
The scores see only the train and arch splits. Writes OUT/window_pick.json.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

from ground_truth import Cache, cache_path
from ranking import WINDOW_FLOOR, counting_scores, target_at_share, window_group
from search_quality import accuracy_checks, most_parameters, pooled_seed_sd, retrained_rows
from hwnas.files.atomic import write_json
from hwnas.final_check.candidates import pick_candidates, window_pool
from hwnas.latency.table import load_table
from hwnas.net.space import load_space
from hwnas.records.search_checkpoint import FinalCheck, load_search_checkpoint
from hwnas.scoring.subnet_eval import scorer_of_search


def picks(pool, table, supernets: dict[str, str]) -> dict[str, object]:
    """Per score, the pool's best arch by it."""
    def best(rank_by, scorer=None):
        return pick_candidates(pool, table, scorer, FinalCheck(candidates=1, pool=len(pool), rank_by=rank_by))[0].arch

    chosen = {"parameters": best("parameters")}
    depth = rankdata(counting_scores(pool)["layers that compute"])
    for name, checkpoint in supernets.items():
        scorer = scorer_of_search(load_search_checkpoint(checkpoint))
        chosen[f"{name}: supernet"] = best("supernet", scorer)
        chosen[f"{name}: both"] = best("both", scorer)
        with_depth = rankdata([scorer(arch) for arch in pool]) + depth
        chosen[f"{name}: supernet + depth"] = pool[int(np.argmax(with_depth))]
    return chosen


def named_checkpoint(entry: str) -> tuple[str, str]:
    name, _, checkpoint = entry.partition("=")
    if not name or not checkpoint:
        raise argparse.ArgumentTypeError(f"NAME=CHECKPOINT, got {entry!r}")
    return name, checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--supernets", nargs="*", type=named_checkpoint, default=[],
                        help="NAME=CHECKPOINT of trained supernets")
    parser.add_argument("--target-share", type=float, default=0.5)
    parser.add_argument("--pool", type=int, default=64)
    parser.add_argument("--random", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--retrain-options", default="", help="more `hwnas retrain` options, one string")
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pool and of ranking.py's arch draws")
    parser.add_argument("--out", default="runs/window_pick")
    args = parser.parse_args()
    supernets = dict(args.supernets)
    space = load_space(args.space)
    table = load_table(args.table, space)
    target = target_at_share(table, args.target_share)
    pool = window_pool(table, WINDOW_FLOOR * target, target, args.pool, args.seed)
    candidates = list(picks(pool, table, supernets).items())
    candidates.append(("most params", most_parameters(table, target)))
    candidates += [("random", arch) for arch in window_group(space, table, args.random, target, args.seed)]
    cache = Cache(args.cache or cache_path(args.data_root))
    rows = retrained_rows(candidates, table, args.seeds, args.data_root, cache, tuple(args.retrain_options.split()))
    random = [r["mean"] for r in rows if r["kind"] == "random"]
    pooled_sd = pooled_seed_sd(rows)
    most = next(r["mean"] for r in rows if r["kind"] == "most params")
    for row in rows:
        row["checks"] = accuracy_checks(row["mean"], random, pooled_sd, most)
    result = {"settings": vars(args), "target_ms": target, "pool": [list(a.ops) for a in pool], "rows": rows,
              "random_median": statistics.median(random), "random_p80": float(np.percentile(random, 80)),
              "pooled_seed_sd": pooled_sd}
    write_json(Path(args.out) / "window_pick.json", result)
    print(f"T = {target} ms; random median {100 * result['random_median']:.2f}%, 80th percentile "
          f"{100 * result['random_p80']:.2f}%, pooled seed sd {100 * pooled_sd:.2f} points")
    print("| pick | ops | predicted ms | test acc % (mean ± sd) | p80 / median + 2 sd / most params |\n"
          "|---|---|---|---|---|")
    for row in sorted(rows, key=lambda r: -r["mean"]):
        marks = " / ".join("yes" if held else "no" for held in row["checks"].values())
        print(f"| {row['kind']} | {' '.join(row['ops'])} | {row['predicted_ms']:.4f} | "
              f"{100 * row['mean']:.2f} ± {100 * row['sd']:.2f} | {marks} |")


if __name__ == "__main__":
    main()
