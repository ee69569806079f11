"""Search quality: does the searched arch beat random archs at the same latency?

    .venv/bin/python benchmarks/search_quality.py --data-root ../shared/data/mnist-7k \
        [--data-class hwnas.data.ImageFolderDataModule] [--space recipes/spaces/demo.yaml] \
        [--table latency_tables/demo-cpu.json] [--targets 0.25 0.5 0.75] [--seeds 3] [--random 8]

At each target T (a share of the table's latency range), on the data module given:
  searched  `hwnas search` (the recipe's settings, epochs from --search-epochs), its arch.json
  selected  `hwnas select` on the same supernet (aging evolution, the arch split)
  random    --random archs (default 8) drawn uniformly, kept if predicted inside [0.95 T, T]
  uniform   every arch with the same op in every layer that is predicted ≤ T
each retrained from scratch with one recipe (recipes/retrain_demo.yaml, --retrain-epochs) for
--seeds seeds, its test accuracy reported as mean ± sd, and each measured on this machine
(untrained, the table's protocol, all candidates of a target side by side beside the table's
reference; at the table's speed, the raw median beside it). The searched arch's rank is
its place by mean accuracy among all candidates of its target (1 = best), and among those
measured at or under T (an arch over budget should not win on accuracy). The verdict per target:
the searched (and the selected) arch's margin over the median random arch against the seed spread
(pooled sd over seeds), in words: "better than random, beyond the noise" or "not distinguishable".
Writes OUT/search_quality.json and OUT/search_quality.png (accuracy vs measured latency);
`--report OUT/search_quality.json` prints the tables of a finished run again.
A rerun into the same --out reuses every retrain already finished for the same arch (an interrupted
run resumes at its first unfinished retrain) and keeps the results of targets it does not run again
(`--targets 0.75` adds one target to a finished run); use a new --out when the retrain settings change.
One process, one timing at a time: do not run other benchmarks beside it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from matplotlib.figure import Figure

from hwnas.files.atomic import save_figure, write_json
from hwnas.cli import main as hwnas
from hwnas.measuring.measure import measure_beside_reference
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch, random_arch
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord, Provenance

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
RANDOM_WINDOW = 0.95  # random archs are drawn predicted inside [0.95 T, T]
MAX_DRAWS = 200_000  # rejection sampling gives up after this many uniform draws


def run(command: list[str]) -> None:
    if hwnas(command) != 0:
        raise SystemExit(f"hwnas {' '.join(command)} failed")


def random_in_window(space, table, target_ms: float, count: int, seed: int) -> list[Arch]:
    rng, found = random.Random(seed), []
    for _ in range(MAX_DRAWS):
        arch = random_arch(space, rng)
        if RANDOM_WINDOW * target_ms <= table.predict_ms(arch) <= target_ms and arch not in found:
            found.append(arch)
            if len(found) == count:
                break
    return found


def uniform_archs(space, table, target_ms: float) -> list[Arch]:
    """Every arch with one op everywhere (zero where a layer allows it is not an op of its own)."""
    archs = []
    for op in space.ops:
        ops = tuple(op for _ in space.layers())
        arch = Arch(space, ops)
        if table.predict_ms(arch) <= target_ms:
            archs.append(arch)
    return archs


def retrain(arch_path: Path, run_dir: Path, seed: int, data_args: list[str], epochs: int) -> float:
    """Test accuracy of one retrain; a finished one (its retrain.json written last, atomically) is reused."""
    finished = run_dir / "retrain.json"
    if finished.exists() and ArchRecord.load(run_dir / "arch.json").arch == ArchRecord.load(arch_path).arch:
        return json.loads(finished.read_text())["test_accuracy"]
    run(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(arch_path), "--run_dir", str(run_dir),
         "--seed_everything", str(seed), "--trainer.max_epochs", str(epochs), *data_args, *QUIET])
    return json.loads((run_dir / "retrain.json").read_text())["test_accuracy"]


def benchmark_target(share: float, args, space, table, data_args: list[str], out: Path) -> dict:
    fastest, slowest = table.latency_range_ms()
    target = round(fastest + share * (slowest - fastest), 4)
    folder = out / f"target_{target:.4f}"
    started = time.perf_counter()
    run(["search", "--config", args.search_recipe, "--run_dir", str(folder / "search"), "--model.space", args.space,
         "--model.table", args.table, "--model.target_ms", str(target), "--trainer.max_epochs", str(args.search_epochs),
         *data_args, *QUIET])
    search_s = time.perf_counter() - started
    run(["select", "--ckpt", str(folder / "search/checkpoints/last.ckpt"), "--target-ms", str(target),
         "--out", str(folder / "select")])
    candidates = [(kind, ArchRecord.load(folder / stage / "arch.json").arch) for kind, stage in [("searched", "search"), ("selected", "select")]]
    candidates += [("random", a) for a in random_in_window(space, table, target, args.random, args.seed)]
    if args.uniform:
        candidates += [("uniform", a) for a in uniform_archs(space, table, target)]
    rows = []
    for index, (kind, arch) in enumerate(candidates):
        arch_path = folder / f"candidate{index}" / "arch.json"
        ArchRecord(arch, Provenance(f"benchmark {kind}", target_ms=target)).save(arch_path)
        accuracies = [retrain(arch_path, folder / f"candidate{index}" / f"seed{seed}", seed, data_args,
                              args.retrain_epochs) for seed in range(args.seeds)]
        rows.append({"kind": kind, "ops": list(arch.ops), "predicted_ms": table.predict_ms(arch),
                     "accuracies": accuracies, "mean": statistics.mean(accuracies),
                     "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0})
    result = {"target_ms": target, "share_of_range": share, "search_seconds": search_s, "candidates": rows}
    measure_candidates(result, space, table)
    return result


def measure_candidates(result: dict, space, table) -> None:
    """Time every candidate of a target untrained, side by side in one interleaved run beside the
    table's reference: `measured_ms` at the table's speed (what target_met judges), `raw_ms` beside it."""
    archs = {f"candidate{i}": Arch(space, tuple(row["ops"])) for i, row in enumerate(result["candidates"])}
    side_by_side = measure_beside_reference(archs, table)
    for name, row in zip(archs, result["candidates"]):
        measurement = side_by_side.measurements[name]
        row["measured_ms"], row["raw_ms"] = measurement.at_table_speed_ms, measurement.median_ms


def ranks(result: dict) -> dict:
    """The searched arch's rank by mean accuracy among all candidates, and among those measured ≤ T."""
    rows, target = result["candidates"], result["target_ms"]
    searched = next(r for r in rows if r["kind"] == "searched")
    within = [r for r in rows if r["measured_ms"] <= target]
    random_means = [r["mean"] for r in rows if r["kind"] == "random"]
    rank = lambda among: sorted(among, key=lambda r: -r["mean"]).index(searched) + 1 if searched in among else None
    return {"rank": rank(rows), "of": len(rows), "rank_within_budget": rank(within), "of_within_budget": len(within),
            "median_random": statistics.median(random_means) if random_means else None}


def verdicts(result: dict) -> dict[str, str]:
    """For the searched and the selected arch: is its margin over the median random arch larger than the
    seed spread (the pooled sd over seeds of every candidate of the target)? In words."""
    rows = result["candidates"]
    seed_sd = statistics.mean(r["sd"] ** 2 for r in rows) ** 0.5
    median_random = statistics.median(r["mean"] for r in rows if r["kind"] == "random")
    said = {}
    for kind in ("searched", "selected"):
        margin = next(r["mean"] for r in rows if r["kind"] == kind) - median_random
        verdict = "better than random, beyond the noise" if margin > seed_sd else (
            "worse than random, beyond the noise" if margin < -seed_sd else "not distinguishable from random")
        said[kind] = f"{verdict} (margin {100 * margin:+.2f} points, seed sd {100 * seed_sd:.2f})"
    return said


def plot(results: list[dict], path: Path) -> None:
    figure = Figure(figsize=(5 * len(results), 4))
    style = {"searched": ("*", "tab:red", 14), "selected": ("D", "tab:purple", 8), "random": ("o", "tab:gray", 6),
             "uniform": ("s", "tab:blue", 7)}
    for column, result in enumerate(results):
        ax = figure.add_subplot(1, len(results), column + 1)
        for kind, (marker, color, size) in style.items():
            rows = [r for r in result["candidates"] if r["kind"] == kind]
            if rows:
                ax.errorbar([r["measured_ms"] for r in rows], [100 * r["mean"] for r in rows],
                            yerr=[100 * r["sd"] for r in rows], fmt=marker, color=color, markersize=size, label=kind)
        ax.axvline(result["target_ms"], color="black", linestyle="--", linewidth=1, label="target")
        ax.set_xlabel("measured latency (ms)")
        ax.set_ylabel("test accuracy (%)")
        r = ranks(result)
        ax.set_title(f"T = {result['target_ms']} ms: searched rank {r['rank']}/{r['of']}")
        ax.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/) or CIFAR-10 folder")
    parser.add_argument("--data-class", default="hwnas.data.ImageFolderDataModule")
    parser.add_argument("--space", default="recipes/spaces/demo.yaml")
    parser.add_argument("--table", default="latency_tables/demo-cpu.json")
    parser.add_argument("--search-recipe", default="recipes/search_demo.yaml")
    parser.add_argument("--targets", type=float, nargs="+", default=[0.25, 0.5, 0.75], help="shares of the range")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--random", type=int, default=8)
    parser.add_argument("--search-epochs", type=int, default=12)
    parser.add_argument("--retrain-epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0, help="seed of the random archs")
    parser.add_argument("--no-uniform", dest="uniform", action="store_false", help="leave out the uniform archs")
    parser.add_argument("--out", default="runs/bench_search")
    parser.add_argument("--report", default=None, help="print the tables of a finished run's search_quality.json")
    parser.add_argument("--remeasure", default=None,
                        help="time the candidates of a finished run's search_quality.json again, side by side, and "
                             "rewrite it (no training)")
    args = parser.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text())["results"])
        return
    space = load_space(args.space)
    table = load_table(args.table, space)
    if args.remeasure:
        finished = json.loads(Path(args.remeasure).read_text())
        for result in finished["results"]:
            measure_candidates(result, space, table)
        write_json(args.remeasure, finished)
        plot(finished["results"], Path(args.remeasure).with_suffix(".png"))
        report(finished["results"])
        return
    data_args = ["--data.class_path", args.data_class, "--data.init_args.root", args.data_root]
    out = Path(args.out)
    earlier = out / "search_quality.json"  # a run into the same --out keeps the other targets' results
    results = [r for r in json.loads(earlier.read_text())["results"] if r["share_of_range"] not in args.targets] \
        if earlier.exists() else []
    for share in args.targets:
        results.append(benchmark_target(share, args, space, table, data_args, out))
        results.sort(key=lambda r: r["share_of_range"])
        write_json(out / "search_quality.json", {"settings": vars(args), "table_device": table.device,
                                                  "results": results})
        plot(results, out / "search_quality.png")
    report(results)


def report(results: list[dict]) -> None:
    for result in results:
        r = ranks(result)
        within = (f"{r['rank_within_budget']}/{r['of_within_budget']} among those measured ≤ T"
                  if r["rank_within_budget"] else f"measured over T: not among the {r['of_within_budget']} measured ≤ T")
        print(f"\nT = {result['target_ms']} ms ({result['share_of_range']:.0%} of the range): searched rank "
              f"{r['rank']}/{r['of']} ({within}), "
              f"median random {100 * (r['median_random'] or 0):.2f}%, search {result['search_seconds'] / 60:.1f} min")
        for kind, verdict in verdicts(result).items():
            print(f"{kind}: {verdict}")
        print("| kind | ops | predicted ms | measured ms at the table's speed (raw) | test acc % (mean ± sd) |\n"
              "|---|---|---|---|---|")
        for row in result["candidates"]:
            print(f"| {row['kind']} | {' '.join(row['ops'])} | {row['predicted_ms']:.4f} | {row['measured_ms']:.4f} "
                  f"({row['raw_ms']:.4f}) | "
                  f"{100 * row['mean']:.2f} ± {100 * row['sd']:.2f} |")


if __name__ == "__main__":
    main()
