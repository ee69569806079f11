"""Split agreement: do archs of one latency differ on the arch split as they differ on the test split?

    .venv/bin/python benchmarks/split_agreement.py --data-root ../shared/data/fashion-7k \
        [--target-share 0.5] [--window 12] [--epochs 12] [--seeds 0 1] [--jobs 2] [--out runs/split_agreement]

The final check scores a candidate by its accuracy on the arch split after training on the train split
(final_check/contest.py); the search-quality verdict judges by the test split. Here each of ranking.py's
equal-latency archs (the same 12, so their cached retrains are the truth) is trained exactly as the
contest trains it, once per seed, and the same trained net is scored on both splits. Reported per split:
the per-run seed sd (points), the sd of the archs' means, the seeds' agreement (Kendall τ between the
runs), and τ of the means against the truth (the retrains' mean test accuracy). If the archs agree across
seeds on the test split but not on the arch split, their differences belong to the test images, and no
score that sees only the train and arch splits can predict them. A diagnosis, not a score: nothing here
chooses an arch. The trainings run --jobs at a time, each process with one torch thread (as ground_truth.py
runs retrains: on two cores two one-thread processes do more work than one of two threads). Writes
OUT/split_agreement.json (cached per arch and seed, saved after every training).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pytorch_lightning as pl
import torch
from scipy.stats import kendalltau

from ground_truth import Cache, cache_path
from ranking import search_splits, target_at_share, window_group
from search_quality import retrained_rows
from hwnas.data import ImageFolderDataModule
from hwnas.files.atomic import write_json
from hwnas.final_check.contest import train_on_the_arch_split
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.space import SearchSpace, load_space

SPLITS = ("arch", "test")


class TestSplitAccuracy(pl.Callback):
    """The trained net's accuracy on the test split, taken when the fit ends (before the contest's
    arch-split validation, which it does not change)."""

    def __init__(self, data: ImageFolderDataModule):
        self.data, self.accuracy = data, None

    @torch.no_grad()
    def on_train_end(self, trainer, module) -> None:
        module.eval()
        right = total = 0
        for x, y in self.data.test_dataloader():
            right += int((module(x).argmax(1) == y).sum())
            total += len(y)
        self.accuracy = right / total


_worker_space: SearchSpace | None = None  # each worker process's space and splits, set up once
_worker_data: ImageFolderDataModule | None = None


def _start_worker(args) -> None:
    global _worker_space, _worker_data
    torch.set_num_threads(1)
    _worker_space = load_space(args.space)
    _worker_data = search_splits(_worker_space, args)


def accuracy_on_both_splits(args, ops: tuple[str, ...], seed: int) -> dict[str, float]:
    """The arch trained as the final check trains a candidate (contest.py), scored on both splits."""
    test = TestSplitAccuracy(_worker_data)
    training = train_on_the_arch_split(Arch(_worker_space, ops), _worker_data, args.epochs, seed, "cpu",
                                       callbacks=[test])
    return {"arch": training.accuracy, "test": test.accuracy}


def summary(runs: list[list[float]], truth: list[float]) -> dict:
    """runs[seed][arch] → the split's seed noise, spread and agreement (module docstring)."""
    means = [statistics.mean(column) for column in zip(*runs)]
    per_run_var = statistics.mean(statistics.variance(column) for column in zip(*runs))
    return {"per_run_sd_points": 100 * per_run_var ** 0.5, "means_sd_points": 100 * statistics.stdev(means),
            "seed_agreement_tau": [float(kendalltau(a, b).statistic) for a, b in itertools.combinations(runs, 2)],
            "tau_against_truth": float(kendalltau(means, truth).statistic)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True, help="ImageFolder root (train/ + test/)")
    parser.add_argument("--space", default="recipes/spaces/fashion.yaml")
    parser.add_argument("--table", default="latency_tables/fashion-cpu.json")
    parser.add_argument("--target-share", type=float, default=0.5)
    parser.add_argument("--window", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=12, help="the truth's epochs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--jobs", type=int, default=2, help="trainings at a time, one torch thread each")
    parser.add_argument("--truth-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", default=None, help="retrain cache (default benchmarks/ground_truth/DATA.json)")
    parser.add_argument("--seed", type=int, default=0, help="seed of ranking.py's arch draws")
    parser.add_argument("--out", default="runs/split_agreement")
    args = parser.parse_args()
    if len(args.seeds) < 2:
        parser.error("--seeds needs two or more: agreement is between seeds")
    space = load_space(args.space)
    table = load_table(args.table, space)
    archs = window_group(space, table, args.window, target_at_share(table, args.target_share), args.seed)
    cache = Cache(args.cache or cache_path(args.data_root))
    truth = [row["mean"] for row in retrained_rows([("random", arch) for arch in archs], table, args.truth_seeds,
                                                   args.data_root, cache)]
    out_path = Path(args.out) / "split_agreement.json"
    trained = json.loads(out_path.read_text())["trained"] if out_path.exists() else {}
    missing = [(arch, seed) for seed, arch in itertools.product(args.seeds, archs)
               if f"{' '.join(arch.ops)}|{args.epochs} epochs|seed {seed}" not in trained]
    with ProcessPoolExecutor(args.jobs, initializer=_start_worker, initargs=(args,)) as pool:
        futures = {pool.submit(accuracy_on_both_splits, args, arch.ops, seed): (arch, seed) for arch, seed in missing}
        for done, future in enumerate(as_completed(futures), 1):
            arch, seed = futures[future]
            trained[f"{' '.join(arch.ops)}|{args.epochs} epochs|seed {seed}"] = future.result()
            write_json(out_path, {"settings": vars(args), "trained": trained})
            print(f"{done}/{len(missing)} trained: {' '.join(arch.ops)}, seed {seed}", flush=True)
    results = {split: summary([[trained[f"{' '.join(a.ops)}|{args.epochs} epochs|seed {s}"][split] for a in archs]
                               for s in args.seeds], truth) for split in SPLITS}
    write_json(out_path, {"settings": vars(args), "trained": trained, "results": results})
    print("| scored on | per-run seed sd | sd of the archs' means | seeds' agreement τ | τ of the means vs the truth |")
    print("|---|---|---|---|---|")
    for split, r in results.items():
        print(f"| {split} split | {r['per_run_sd_points']:.2f} | {r['means_sd_points']:.2f} | "
              f"{', '.join(f'{t:.2f}' for t in r['seed_agreement_tau'])} | {r['tau_against_truth']:.3f} |")


if __name__ == "__main__":
    main()
