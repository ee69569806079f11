"""Does the data's size decide the verdict? One search-quality target judged on one or two data folders.

    .venv/bin/python benchmarks/data_size.py --small ../shared/data/fashion-7k \
        [--large runs/data/fashion-7k-full-test] --space recipes/spaces/fashion_deep.yaml \
        --table latency_tables/fashion_deep-cpu.json --target 0.5 \
        --delivered D0.json D1.json ... --selected S0.json S1.json ... [--seeds 0 1 2] \
        [--large-seeds 0 1] [--large-options "--trainer.max_epochs 2"] [--out runs/data_size]

benchmarks/fashion_full_test.py writes the large folders: fashion-7k's train images beside all 10,000 test
images (an arch and a seed then train the same weights for both folders, and only the images that judge them
differ), or a larger train split that holds fashion-7k's (then the retrain itself differs; --large-options gives
its retrain options, e.g. fewer epochs over ten times the images). The candidates are search_quality.py's at
the target: ranking.py's random archs inside [0.95 T, T], the most-params arch, and the delivered and selected
archs given (arch.json files of finished search_quality.py runs), each retrained with every seed
(benchmarks/ground_truth.py, one cache per folder). On each folder: the truth's noise (pooled seed sd; the
random archs' spread, their own sd and the τ ceiling it allows), the parameter count's τ against the random
archs' means, and the issue's accuracy conditions for every delivered and selected arch; between the folders,
τ of the random archs' means. Without --large, the small folder alone is judged. Writes OUT/data_size.json.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from ground_truth import Cache, cache_path
from ranking import counting_scores, equal_latency_spread, target_at_share, window_group
from search_quality import accuracy_checks, most_parameters, pooled_seed_sd, retrained_rows
from hwnas.files.atomic import write_json
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord


def judged_on(data_root: str, candidates: list[tuple[str, Arch]], table, seeds: list[int],
              options: tuple[str, ...] = ()) -> dict:
    """The candidates' retrains on `data_root` (with `hwnas retrain` options), judged on its test split: noise,
    spread and every pick's conditions."""
    cache = Cache(cache_path(data_root))
    rows = retrained_rows(candidates, table, seeds, data_root, cache, options)
    random = [r for r in rows if r["kind"] == "random"]
    means, sd = [r["mean"] for r in random], pooled_seed_sd(rows)
    median = statistics.median(means)
    most = next(r["mean"] for r in rows if r["kind"] == "most params")
    parameters = counting_scores([Arch(table.space, tuple(r["ops"])) for r in random])["parameters"]
    picks = [{"kind": r["kind"], "ops": r["ops"], "mean": r["mean"], "sd": r["sd"],
              "over_median_points": 100 * (r["mean"] - median),
              "checks": accuracy_checks(r["mean"], means, sd, most)}
             for r in rows if r["kind"] in ("delivered", "selected")]
    images = {split: sum(1 for _ in (Path(data_root) / split).rglob("*.*")) for split in ("train", "test")}
    return {"data_root": data_root, "retrain_options": list(options), "seeds": seeds,
            "train_images": images["train"], "test_images": images["test"],
            "pooled_seed_sd_points": 100 * sd, "random_median": 100 * median,
            "random_p80": 100 * float(np.percentile(means, 80)), "bar": 100 * (median + 2 * sd),
            "random_best": 100 * max(means), "most_params": 100 * most,
            "parameters_tau": float(kendalltau(parameters, means).statistic),
            **equal_latency_spread(random), "picks": picks, "rows": rows}


def report(result: dict) -> None:
    folders = result["folders"]
    print("\n| train / test images | pooled seed sd | random: median / p80 / median + 2 sd / best | sd of the means | "
          "the archs' own sd | τ ceiling | parameters τ | most params |")
    print("|---|---|---|---|---|---|---|---|")
    for s in folders:
        print(f"| {s['train_images']:,} / {s['test_images']:,} | {s['pooled_seed_sd_points']:.2f} | "
              f"{s['random_median']:.2f} / {s['random_p80']:.2f} / {s['bar']:.2f} / {s['random_best']:.2f} | "
              f"{s['window_means_sd_points']:.2f} | {s['window_arch_sd_points']:.2f} | "
              f"{s['window_tau_ceiling']:.2f} | {s['parameters_tau']:.2f} | {s['most_params']:.2f} |")
    if result["tau_between_folders"] is not None:
        print(f"\nτ between the folders' means of the random archs: {result['tau_between_folders']:.2f}")
    print("\n| pick | " + " | ".join(f"{s['train_images']:,} / {s['test_images']:,}: mean, − median, conditions met"
                                      for s in folders) + " |")
    print("|---|" + "---|" * len(folders))
    for i, pick in enumerate(folders[0]["picks"]):
        cells = [f"{100 * s['picks'][i]['mean']:.2f} ± {100 * s['picks'][i]['sd']:.2f}, "
                 f"{s['picks'][i]['over_median_points']:+.2f}, "
                 f"{sum(s['picks'][i]['checks'].values())} of {len(s['picks'][i]['checks'])}" for s in folders]
        print(f"| {pick['kind']} {' '.join(pick['ops'])} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--large", help="a larger test/, train/, or both; without it, --small alone is judged")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--target", type=float, default=0.5, help="share of the table's range")
    parser.add_argument("--delivered", nargs="*", default=[], help="arch.json files")
    parser.add_argument("--selected", nargs="*", default=[], help="arch.json files")
    parser.add_argument("--random", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="seed of ranking.py's arch draws")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--large-seeds", type=int, nargs="+", help="retrain seeds on --large (default: --seeds)")
    parser.add_argument("--large-options", default="", help="`hwnas retrain` options on --large, one string")
    parser.add_argument("--out", default="runs/data_size")
    args = parser.parse_args()
    space = load_space(args.space)
    table = load_table(args.table, space)
    target = target_at_share(table, args.target)
    candidates = ([("delivered", ArchRecord.load(p).arch) for p in args.delivered]
                  + [("selected", ArchRecord.load(p).arch) for p in args.selected]
                  + [("most params", most_parameters(table, target))]
                  + [("random", arch) for arch in window_group(space, table, args.random, target, args.seed)])
    large_options = tuple(args.large_options.split())
    folders = [judged_on(args.small, candidates, table, args.seeds)]
    if args.large:
        folders.append(judged_on(args.large, candidates, table, args.large_seeds or args.seeds, large_options))
    between = (float(kendalltau(*[[r["mean"] for r in s["rows"] if r["kind"] == "random"] for s in folders]).statistic)
               if len(folders) == 2 else None)
    result = {"settings": vars(args), "target_ms": target, "folders": folders, "tau_between_folders": between}
    write_json(Path(args.out) / "data_size.json", result)
    report(result)


if __name__ == "__main__":
    main()
