"""Search quality: is the delivered arch better than what a user would pick at the same latency?

    .venv/bin/python benchmarks/search_quality.py --data-root ../shared/data/fashion-7k \
        [--space recipes/spaces/fashion.yaml] [--table latency_tables/fashion-cpu.json] \
        [--search-recipe benchmarks/search_fashion.yaml] [--search-options "--model.one_shot Sandwich"] \
        [--targets 0.25 0.5 0.75] [--seeds 0 1 2] [--random 12] \
        [--out runs/search_quality] [--report runs/search_quality/search_quality.json]

At each target T (a share of the table's latency range), on the data folder given:
  delivered      `hwnas search` with the search recipe (its final check included): its arch.json
  selected       `hwnas select` on the same supernet
  most params    the arch with the most weights predicted inside [0.95 T, T] (exact: the derive's DP)
  random         --random archs drawn as benchmarks/ranking.py draws its equal-latency group, inside [0.95 T, T]
each retrained from scratch with benchmarks/retrain_bench.yaml for every seed (benchmarks/ground_truth.py:
cached, so the ranking benchmark's retrains of the same archs are reused), and measured untrained on this
machine as `hwnas derive` measures, all of a target side by side (at the table's speed, the raw median
beside it). The search and the final check see only the train and arch splits; the test split
is the retrains' alone. Verdict per target, for the delivered arch: its mean test accuracy at or above the
random archs' 80th percentile, above their median by more than two pooled seed sds, not below the
most-params arch, and measured inside [0.9 T, T]. Wall time of every stage is recorded.
Writes OUT/search_quality.json; a rerun into the same --out keeps the other targets' results.
--remeasure RUN/search_quality.json times a finished run's candidates again on this machine (with the
table it names) and re-judges its verdicts in place: no search, no retrain.
One process, one timing at a time: do not run other benchmarks beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from ground_truth import Cache, Retrain, cache_path, retrain_all
from ranking import WINDOW_FLOOR, target_at_share, window_group
from hwnas.cli import main as hwnas
from hwnas.derive.window import capped_problem, most_probable_in_window
from hwnas.files.atomic import write_json
from hwnas.latency.table import load_table
from hwnas.measuring.measure import measure_at_table_speed
from hwnas.net.arch import Arch
from hwnas.net.memory import MemoryCaps, layer_weight_count
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord, in_window

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
FLOOR = 0.9  # the delivered arch must measure inside [0.9 T, T]


def run(command: list[str]) -> float:
    """Seconds `hwnas COMMAND` took; a failure ends the benchmark."""
    started = time.perf_counter()
    if hwnas(command) != 0:
        raise SystemExit(f"hwnas {' '.join(command)} failed")
    return time.perf_counter() - started


def most_parameters(table, target_ms: float) -> Arch:
    """The arch with the most deployed weights predicted inside [WINDOW_FLOOR · T, T]: the derive's DP with
    each op's weight count as its score."""
    costs, _ = capped_problem(table, MemoryCaps())
    counts = [np.array([float(layer_weight_count(op, layer.shape)) for op in layer.candidates])
              for layer in table.space.layers()]
    indices = most_probable_in_window(counts, costs, table.fixed_ms(), WINDOW_FLOOR * target_ms, target_ms)
    return Arch(table.space, tuple(layer.candidates[j] for layer, j in zip(table.space.layers(), indices)))


def benchmark_target(share: float, args, space, table, out: Path) -> dict:
    target = target_at_share(table, share)
    folder = out / f"target_{target:.4f}"
    data = ["--data.class_path", "hwnas.data.ImageFolderDataModule", "--data.init_args.root", args.data_root]
    seconds = {"search with its final check": run(
        ["search", "--config", args.search_recipe, "--run_dir", str(folder / "search"), "--model.space", args.space,
         "--model.table", args.table, "--model.target_ms", str(target), *data, *args.search_options.split(), *QUIET])}
    seconds["select"] = run(["select", "--ckpt", str(folder / "search/checkpoints/last.ckpt"), "--target_ms",
                             str(target), "--out", str(folder / "select")])
    delivered = ArchRecord.load(folder / "search" / "arch.json")
    contest = delivered.provenance.final_check
    if contest:
        seconds["of which the final check"] = contest["seconds"]
    candidates = [("delivered", delivered.arch), ("selected", ArchRecord.load(folder / "select" / "arch.json").arch),
                  ("most params", most_parameters(table, target))]
    candidates += [("random", arch) for arch in window_group(space, table, args.random, target, args.seed)]
    started = time.perf_counter()
    rows = retrained_rows(candidates, table, args.seeds, args.data_root, Cache(args.cache))
    seconds["retrains (all candidates, every seed; cached ones free)"] = time.perf_counter() - started
    result = {"target_ms": target, "share_of_range": share, "candidates": rows, "seconds": seconds,
              "delivered_by_final_check": bool(contest) and contest["winner"] == list(delivered.arch.ops)}
    measure_candidates(result, space, table)
    result["verdict"] = verdict(result)
    return result


def retrained_rows(candidates: list[tuple[str, Arch]], table, seeds: list[int], data_root: str, cache: Cache,
                   options: tuple[str, ...] = ()) -> list[dict]:
    """Per (kind, arch), its retrains' test accuracies for every seed (run or cached), their mean and sd."""
    accuracies = retrain_all([Retrain(arch, seed, data_root, options=options) for seed in seeds
                              for _, arch in candidates], cache)
    rows = []
    for kind, arch in candidates:
        values = [accuracies[Retrain(arch, seed, data_root, options=options)] for seed in seeds]
        rows.append({"kind": kind, "ops": list(arch.ops), "predicted_ms": table.predict_ms(arch), "accuracies": values,
                     "mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0})
    return rows


def pooled_seed_sd(rows: list[dict]) -> float:
    """The seed sd pooled over the rows (root of their mean variance), a fraction."""
    return statistics.mean(r["sd"] ** 2 for r in rows) ** 0.5


def measure_candidates(result: dict, space, table) -> None:
    """Every candidate of a target timed untrained, side by side in the same interleaved runs as
    `hwnas derive` measures: `measured_ms` at the table's speed (what target_met judges), `raw_ms` beside it."""
    archs = {f"candidate{i}": Arch(space, tuple(row["ops"])) for i, row in enumerate(result["candidates"])}
    side_by_side = measure_at_table_speed(archs, table)
    for name, row in zip(archs, result["candidates"]):
        measurement = side_by_side.measurements[name]
        row["measured_ms"], row["raw_ms"] = measurement.at_table_speed_ms, measurement.median_ms


def accuracy_checks(mean: float, random: list[float], pooled_sd: float,
                    most_params: float | None = None) -> dict[str, bool]:
    """The issue's accuracy conditions on an arch's mean test accuracy (fractions, not points): the first
    two against the random archs, the third against the most-params arch where one is given."""
    checks = {"at or above the random archs' 80th percentile": mean >= float(np.percentile(random, 80)),
              "above their median by more than two pooled seed sds": mean - statistics.median(random) > 2 * pooled_sd}
    if most_params is not None:
        checks["not below the most-params arch"] = mean >= most_params
    return checks


def verdict(result: dict) -> dict:
    """The delivered arch against the issue's four conditions, each true or false, and in words."""
    rows = result["candidates"]
    delivered = next(r for r in rows if r["kind"] == "delivered")
    random = [r["mean"] for r in rows if r["kind"] == "random"]
    pooled_sd = pooled_seed_sd(rows)
    most = next(r for r in rows if r["kind"] == "most params")
    checks = {**accuracy_checks(delivered["mean"], random, pooled_sd, most["mean"]),
              "measured inside [0.9 T, T]": in_window(delivered["measured_ms"], FLOOR, result["target_ms"])}
    margin = 100 * (delivered["mean"] - statistics.median(random))
    words = (f"margin over the median random arch {margin:+.2f} points against a pooled seed sd of "
             f"{100 * pooled_sd:.2f}; " + "; ".join(f"{'yes' if held else 'NO'}: {name}" for name, held in checks.items()))
    return {"checks": checks, "in_words": words, "pooled_seed_sd": pooled_sd,
            "random_median": statistics.median(random), "random_p80": float(np.percentile(random, 80))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", help="ImageFolder root (train/ + test/); not needed by --report, --remeasure")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--search-recipe", default="benchmarks/search_fashion.yaml")
    parser.add_argument("--search-options", default="", help="more `hwnas search` options, one string")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.25, 0.5, 0.75], help="shares of the range")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--random", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random archs (ranking.py's)")
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    parser.add_argument("--out", default="runs/search_quality")
    parser.add_argument("--report", default=None, help="print the tables of a finished run's search_quality.json")
    parser.add_argument("--remeasure", default=None, help="a finished run's search_quality.json: measure again")
    args = parser.parse_args()
    finished = args.report or args.remeasure
    if finished and not Path(finished).is_file():
        parser.error(f"{finished}: no such file; give the search_quality.json a finished run wrote into its --out")
    if args.report:
        report(json.loads(Path(args.report).read_text())["results"])
        return
    if args.remeasure:
        remeasure(Path(args.remeasure))
        return
    if not args.data_root:
        parser.error("--data-root is required to search and retrain")
    args.cache = args.cache or cache_path(args.data_root)
    space = load_space(args.space)
    table = load_table(args.table, space)
    out = Path(args.out)
    earlier = out / "search_quality.json"  # a run into the same --out keeps the other targets' results
    results = [r for r in json.loads(earlier.read_text())["results"] if r["share_of_range"] not in args.targets] \
        if earlier.exists() else []
    for share in args.targets:
        results.append(benchmark_target(share, args, space, table, out))
        results.sort(key=lambda r: r["share_of_range"])
        write_json(earlier, {"settings": vars(args), "table_device": table.device.to_json(), "results": results})
    report(results)


def remeasure(path: Path) -> None:
    """Every target's candidates of a finished run measured again, its verdicts re-judged, written back."""
    finished = json.loads(path.read_text())
    space = load_space(finished["settings"]["space"])
    table = load_table(finished["settings"]["table"], space)
    for result in finished["results"]:
        measure_candidates(result, space, table)
        result["verdict"] = verdict(result)
    write_json(path, finished)
    report(finished["results"])


def report(results: list[dict]) -> None:
    for result in results:
        print(f"\nT = {result['target_ms']} ms ({result['share_of_range']:.0%} of the range): "
              f"{result['verdict']['in_words']}")
        print("; ".join(f"{stage} {value / 60:.1f} min" for stage, value in result["seconds"].items()))
        print("| kind | ops | predicted ms | measured ms at the table's speed (raw) | test acc % (mean ± sd) |\n"
              "|---|---|---|---|---|")
        for row in sorted(result["candidates"], key=lambda r: -r["mean"]):
            print(f"| {row['kind']} | {' '.join(row['ops'])} | {row['predicted_ms']:.4f} | {row['measured_ms']:.4f} "
                  f"({row['raw_ms']:.4f}) | {100 * row['mean']:.2f} ± {100 * row['sd']:.2f} |")


if __name__ == "__main__":
    main()
