"""Supernet ranking: does a trained supernet's score of an arch rank its accuracy retrained from scratch?

    .venv/bin/python benchmarks/supernet_ranking.py --data-root ../shared/data/mnist-7k \
        [--space recipes/spaces/demo.yaml] [--table latency_tables/demo-cpu.json] [--out runs/bench_ranking] \
        [--spread 16] [--window 8] [--target-share 0.5] [--seeds 2] [--retrain-epochs 6] [--search-epochs 8] \
        [--variants average fair] [--calibration-batches 4 16]

The archs: --spread archs whose predicted latencies spread over the table's range (of 20,000 seeded
random archs and the uniform ones, the nearest to each of --spread evenly spaced latencies) and
--window archs predicted inside [0.9 T, T], T = --target-share of the range (the equal-latency group
a search at T chooses among). Each is retrained from scratch with recipes/retrain_demo.yaml for
--retrain-epochs with seeds 0 .. --seeds-1, its test accuracy the mean over seeds; retrains are cached
in OUT/retrained.json, so a re-run (another variant) retrains nothing.

Per supernet variant (`hwnas search --model.mode sum --model.one_shot_training VARIANT`, the demo
recipe's settings otherwise, --search-epochs on the same data) and per number of BN calibration
batches, every arch is scored as `hwnas select` scores it (select/subnet_eval.py: BN recalibrated on train
batches, accuracy on the arch split). Reported: Kendall τ between score and retrained accuracy over
all archs and within the window, each with a 95% bootstrap interval (archs resampled 2,000 times),
and the seed spread (per arch, the sd of its test accuracy over seeds). Writes
OUT/supernet_ranking.json and OUT/supernet_ranking.png; `--report OUT/supernet_ranking.json` prints
the tables again.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from itertools import islice
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from scipy.stats import kendalltau
from torch.utils.data import DataLoader

from hwnas.files.atomic import save_figure, write_json
from hwnas.cli import main as hwnas
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch, random_arch
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord, Provenance
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.select.select import arch_split_of_run
from hwnas.select.subnet_eval import SubnetScorer

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
POOL = 20_000  # random archs the spread is picked from
WINDOW_FLOOR = 0.9  # the equal-latency group: predicted inside [0.9 T, T]
BOOTSTRAP = 2_000


def run(command: list[str]) -> None:
    if hwnas(command) != 0:
        raise SystemExit(f"hwnas {' '.join(command)} failed")


def choose_archs(space, table, spread: int, window: int, target_ms: float, seed: int) -> list[tuple[str, Arch]]:
    rng = random.Random(seed)
    pool = list(dict.fromkeys(random_arch(space, rng) for _ in range(POOL)))
    pool += [Arch(space, tuple(op for _ in space.layers())) for op in space.ops]  # the extremes random rarely hits
    latency = {arch: table.predict_ms(arch) for arch in pool}
    fastest, slowest = min(latency.values()), max(latency.values())
    spread_archs: list[Arch] = []
    for point in np.linspace(fastest, slowest, spread):
        spread_archs.append(min((a for a in pool if a not in spread_archs), key=lambda a: abs(latency[a] - point)))
    inside = [a for a in pool if WINDOW_FLOOR * target_ms <= latency[a] <= target_ms and a not in spread_archs]
    return [("spread", arch) for arch in spread_archs] + [("window", arch) for arch in rng.sample(inside, window)]


def retrain_key(arch: Arch, seed: int, args, variant: str = "") -> str:
    return f"{' '.join(arch.ops)}|seed {seed}|{args.retrain_epochs} epochs" + (f"|{variant}" if variant else "")


def retrained_accuracy(arch: Arch, seed: int, args, retrain_args: list[str], cache: dict, out: Path,
                       variant: str = "") -> float:
    """Test accuracy of `arch` retrained with `seed` (cached by ops, seed, epochs and `variant`, the name of
    what `retrain_args` add to the recipe beyond the data)."""
    key = retrain_key(arch, seed, args, variant)
    if key not in cache:
        folder = out / "retrain" / "-".join(arch.ops) / (f"{variant}-seed{seed}" if variant else f"seed{seed}")
        ArchRecord(arch, Provenance("benchmark supernet_ranking")).save(folder / "input_arch.json")
        run(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(folder / "input_arch.json"),
             "--run_dir", str(folder), "--seed_everything", str(seed), "--trainer.max_epochs", str(args.retrain_epochs),
             *retrain_args, *QUIET])
        cache[key] = json.loads((folder / "retrain.json").read_text())["test_accuracy"]
        write_json(out / "retrained.json", cache)
    return cache[key]


def train_supernet(variant: str, args, data_args: list[str], out: Path) -> Path:
    folder = out / f"supernet_{variant}"
    if not (folder / "search.json").exists():
        run(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(folder), "--model.mode", "sum",
             "--model.one_shot_training", variant, "--model.space", args.space, "--model.table", args.table,
             "--trainer.max_epochs", str(args.search_epochs), *data_args, *QUIET])
    return folder


def supernet_scores(folder: Path, archs: list[Arch], calibration_batches: int) -> list[float]:
    supernet = load_search_checkpoint(folder / "checkpoints/last.ckpt").supernet
    datamodule = arch_split_of_run(folder / "logs/config.yaml", supernet.space)
    calibration = [x for x, _ in islice(DataLoader(datamodule.train_set, datamodule.batch_size), calibration_batches)]
    scorer = SubnetScorer(supernet, calibration, list(datamodule.val_dataloader()))
    return [scorer(arch) for arch in archs]


def tau_with_interval(scores: list[float], accuracies: list[float], seed: int) -> dict:
    """Kendall τ (tau-b) and its 95% bootstrap interval, archs resampled with replacement."""
    scores, accuracies = np.array(scores), np.array(accuracies)
    rng = np.random.default_rng(seed)
    resampled = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(len(scores), size=len(scores))
        tau = kendalltau(scores[pick], accuracies[pick]).statistic
        if np.isfinite(tau):  # a resample of one distinct arch has no order
            resampled.append(tau)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return {"tau": float(kendalltau(scores, accuracies).statistic), "low": float(low), "high": float(high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--data-class", default="hwnas.data.ImageFolderDataModule")
    parser.add_argument("--space", default="recipes/spaces/demo.yaml")
    parser.add_argument("--table", default="latency_tables/demo-cpu.json")
    parser.add_argument("--spread", type=int, default=16)
    parser.add_argument("--window", type=int, default=8)
    parser.add_argument("--target-share", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--extra-seeds-if-cached", action="store_true",
                        help="retrain seed 0 of every arch, its other seeds only where already cached (a shorter run)")
    parser.add_argument("--retrain-epochs", type=int, default=6)
    parser.add_argument("--search-epochs", type=int, default=8)
    parser.add_argument("--variants", nargs="+", default=["average", "fair"], help="one_shot_training values")
    parser.add_argument("--calibration-batches", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--seed", type=int, default=0, help="seed of the arch draws and the bootstrap")
    parser.add_argument("--out", default="runs/bench_ranking")
    parser.add_argument("--report", default=None, help="print the tables of a finished run's supernet_ranking.json")
    args = parser.parse_args()
    if args.report:
        report(json.loads(Path(args.report).read_text()))
        return
    space = load_space(args.space)
    table = load_table(args.table, space)
    fastest, slowest = table.latency_range_ms()
    target = round(fastest + args.target_share * (slowest - fastest), 4)
    out = Path(args.out)
    data_args = ["--data.class_path", args.data_class, "--data.init_args.root", args.data_root]
    chosen = choose_archs(space, table, args.spread, args.window, target, args.seed)
    cache = json.loads((out / "retrained.json").read_text()) if (out / "retrained.json").exists() else {}
    rows = []
    for group, arch in chosen:
        seeds = [seed for seed in range(args.seeds)
                 if seed == 0 or not args.extra_seeds_if_cached or retrain_key(arch, seed, args) in cache]
        accuracies = [retrained_accuracy(arch, seed, args, data_args, cache, out) for seed in seeds]
        rows.append({"group": group, "ops": list(arch.ops), "predicted_ms": table.predict_ms(arch),
                     "accuracies": accuracies, "mean": statistics.mean(accuracies),
                     "sd": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0, "scores": {}})
    archs = [arch for _, arch in chosen]
    rankings = []
    for variant in args.variants:
        folder = train_supernet(variant, args, data_args, out)
        for batches in args.calibration_batches:
            name = f"{variant}, {batches} BN batches"
            for row, score in zip(rows, supernet_scores(folder, archs, batches)):
                row["scores"][name] = score
            rankings.append({"supernet": name, **{
                group: tau_with_interval([r["scores"][name] for r in among], [r["mean"] for r in among], args.seed)
                for group, among in [("all", rows), ("window", [r for r in rows if r["group"] == "window"])]}})
    result = {"settings": vars(args), "target_ms": target, "table_device": table.device, "archs": rows,
              "rankings": rankings}
    write_json(out / "supernet_ranking.json", result)
    plot(result, out / "supernet_ranking.png")
    report(result)


def plot(result: dict, path: Path) -> None:
    names = [r["supernet"] for r in result["rankings"]]
    figure = Figure(figsize=(4 * len(names), 3.6))
    for column, (name, ranking) in enumerate(zip(names, result["rankings"])):
        ax = figure.add_subplot(1, len(names), column + 1)
        for group, color in [("spread", "tab:blue"), ("window", "tab:red")]:
            rows = [r for r in result["archs"] if r["group"] == group]
            ax.errorbar([100 * r["scores"][name] for r in rows], [100 * r["mean"] for r in rows],
                        yerr=[100 * r["sd"] for r in rows], fmt="o", color=color, markersize=4, label=group)
        ax.set_xlabel("supernet score: arch-split accuracy (%)")
        ax.set_ylabel("retrained test accuracy (%)")
        ax.set_title(f"{name}\nτ all {ranking['all']['tau']:.2f}, window {ranking['window']['tau']:.2f}", fontsize=9)
        ax.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path, dpi=90)


def report(result: dict) -> None:
    sds = [100 * r["sd"] for r in result["archs"] if len(r["accuracies"]) > 1]
    seeds = sorted({len(r["accuracies"]) for r in result["archs"]})
    print(f"T = {result['target_ms']} ms; {len(result['archs'])} archs, retrained with {seeds} seeds; seed spread "
          f"(sd over seeds, points, {len(sds)} archs): median {statistics.median(sds):.2f}, max {max(sds):.2f}")
    print("| supernet | τ all archs [95% interval] | τ window [95% interval] |\n|---|---|---|")
    for r in result["rankings"]:
        cell = lambda t: f"{t['tau']:.3f} [{t['low']:.2f}, {t['high']:.2f}]"
        print(f"| {r['supernet']} | {cell(r['all'])} | {cell(r['window'])} |")
    print("\n| group | ops | predicted ms | test acc % (mean ± sd) | " + " | ".join(r["supernet"] for r in result["rankings"])
          + " |\n|---|---|---|---|" + "---|" * len(result["rankings"]))
    for row in result["archs"]:
        print(f"| {row['group']} | {' '.join(row['ops'])} | {row['predicted_ms']:.4f} | {100 * row['mean']:.2f} ± "
              f"{100 * row['sd']:.2f} | " + " | ".join(f"{100 * s:.1f}" for s in row["scores"].values()) + " |")


if __name__ == "__main__":
    main()
