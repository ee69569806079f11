"""Ground truth of the ranking and search-quality benchmarks: archs retrained from scratch, cached.

    .venv/bin/python benchmarks/ground_truth.py --data-root ../shared/data/fashion-7k \
        --archs ARCHS.json [--seeds 0 1 2] [--recipe benchmarks/retrain_bench.yaml] [--jobs 2] \
        [--cache benchmarks/ground_truth/fashion-7k.json]

A retrain is `hwnas retrain` of one arch with one seed and one recipe, its test accuracy the result.
Retrains run as separate processes, --jobs at a time, each told `--threads 1`: on two cores two
one-thread processes do more work than one of two threads (BENCHMARKS.md, "Training layout"), and two
that start together would each see idle cores and take them all, every thread then waiting on
another's core (BENCHMARKS.md, "Two trainings on one machine").
Each finished retrain goes into the cache, keyed by what decides it (the space's fingerprint, the ops,
the seed, the recipe's content and extra options, the data folder's name), so an interrupted run
resumes and every benchmark that needs the same retrain reuses it. The cache is JSON, small, and
committed beside this file for the data sets BENCHMARKS.md reports on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hwnas.files.atomic import write_json
from hwnas.net.arch import Arch
from hwnas.records.arch_record import ArchRecord, Provenance

RECIPE = "benchmarks/retrain_bench.yaml"
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


@dataclass(frozen=True)
class Retrain:
    arch: Arch
    seed: int
    data_root: str
    recipe: str = RECIPE
    options: tuple[str, ...] = ()  # more `hwnas retrain` options (e.g. "--trainer.max_epochs", "4")

    def key(self) -> str:
        recipe = hashlib.sha256(Path(self.recipe).read_bytes()).hexdigest()[:12]
        return "|".join([self.arch.space.fingerprint(), " ".join(self.arch.ops), f"seed {self.seed}",
                         f"recipe {recipe}", " ".join(self.options), Path(self.data_root).resolve().name])


def cache_path(data_root: str | Path) -> str:
    """The data set's cache, beside this file: benchmarks/ground_truth/NAME.json, NAME its folder's name (a
    string: the benchmarks record it in their JSON settings)."""
    return f"benchmarks/ground_truth/{Path(data_root).resolve().name}.json"


class Cache:
    """Accuracies by Retrain.key(), saved after every result (one writer: this process)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.results: dict[str, dict] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.lock = threading.Lock()

    def get(self, retrain: Retrain) -> float | None:
        found = self.results.get(retrain.key())
        return None if found is None else found["test_accuracy"]

    def put(self, retrain: Retrain, accuracy: float, seconds: float) -> None:
        with self.lock:
            self.results[retrain.key()] = {"test_accuracy": accuracy, "seconds": round(seconds, 1)}
            write_json(self.path, dict(sorted(self.results.items())))


def run_retrain(retrain: Retrain) -> tuple[float, float]:
    """(test accuracy, wall seconds) of one retrain in its own process, one torch thread."""
    with tempfile.TemporaryDirectory(prefix="hwnas-ground-truth-") as folder:
        arch_path = Path(folder) / "arch.json"
        ArchRecord(retrain.arch, Provenance("benchmark ground truth")).save(arch_path)
        command = [sys.executable, "-m", "hwnas", "retrain", "--config", retrain.recipe, "--arch", str(arch_path),
                   "--run_dir", str(Path(folder) / "run"), "--seed_everything", str(retrain.seed),
                   "--data.init_args.root", retrain.data_root, "--threads", "1", *retrain.options, *QUIET]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"retrain failed ({' '.join(command)}):\n{done.stderr[-2000:]}")
        result = json.loads((Path(folder) / "run" / "retrain.json").read_text())
        return result["test_accuracy"], time.perf_counter() - started


def retrain_all(retrains: list[Retrain], cache: Cache, jobs: int = 2, log=print) -> dict[Retrain, float]:
    """Every retrain's test accuracy, from the cache or run (--jobs at a time)."""
    todo = list(dict.fromkeys(r for r in retrains if cache.get(r) is None))
    if todo:
        log(f"{len(todo)} retrains to run ({len(retrains) - len(todo)} cached), {jobs} at a time")

    def one(item: tuple[int, Retrain]) -> None:
        index, retrain = item
        accuracy, seconds = run_retrain(retrain)
        cache.put(retrain, accuracy, seconds)
        log(f"[{index + 1}/{len(todo)}] {' '.join(retrain.arch.ops)} seed {retrain.seed}: {accuracy:.4f} "
            f"({seconds:.0f} s)")

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, enumerate(todo)))
    return {r: cache.get(r) for r in retrains}


def main() -> None:
    from hwnas.records.arch_record import ArchRecord

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--archs", nargs="+", required=True, help="arch.json files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipe", default=RECIPE)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", required=True)
    args = parser.parse_args()
    archs = [ArchRecord.load(path).arch for path in args.archs]
    results = retrain_all([Retrain(arch, seed, args.data_root, args.recipe) for arch in archs for seed in args.seeds],
                          Cache(args.cache), args.jobs)
    for retrain, accuracy in results.items():
        print(f"{' '.join(retrain.arch.ops)} seed {retrain.seed}: {accuracy:.4f}")


if __name__ == "__main__":
    main()
