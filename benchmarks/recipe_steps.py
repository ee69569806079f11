"""Seconds per training step of the real-data recipes on this machine, for their headers'
expected times (BENCHMARKS.md, "Real-data recipes").

Each recipe's search runs through the CLI on random data of the real shape (CIFAR-10 batches;
a 1000-class train/ + val/ image folder at 224×224), twice, with `few` and `many` steps per
epoch; the difference of the two wall times over the difference of steps is the time of one
step, without the start-up both runs share. Warm-up steps (the one-shot average over all paths,
with drop path) and search steps (one binarized path per layer, plus an arch step) are timed
separately, and so is one retrain step of the recipe's reference subnet.

    .venv/bin/python benchmarks/recipe_steps.py [--batch-size-mobile 8]   # ~25 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from hwnas.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fake_data import write_fake_cifar, write_image_folder  # noqa: E402  (the tests' tiny-data writers)

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0",
         "--trainer.num_sanity_val_steps", "0", "--model.measure_derived", "false", "--model.derive_floor", "0"]


def seconds(command: list[str]) -> float:
    start = time.perf_counter()
    assert main(command) == 0, command
    return time.perf_counter() - start


def per_step(command: list[str], few: int, many: int) -> float:
    """Seconds per step: the same run with `few` and with `many` train batches per epoch, after an
    untimed run of `few`: the first run of new shapes in a process pays oneDNN's kernel compilation
    (measured: minutes at 224×224, which made the difference negative)."""
    times = [seconds([*command, "--trainer.limit_train_batches", str(steps)]) for steps in (few, few, many)]
    return (times[2] - times[1]) / (many - few)


def recipe_steps(recipe: str, root: Path, batch_size: int, work: Path, few: int, many: int) -> dict:
    data = ["--data.init_args.root", str(root), "--data.init_args.batch_size", str(batch_size)]
    search = ["search", "--config", f"recipes/search_{recipe}.yaml", *data, *QUIET]
    warmup = per_step([*search, "--run_dir", str(work / "warm"), "--model.warmup_epochs", "1",
                       "--trainer.max_epochs", "1", "--model.mode", "sum"], few, many)
    searching = per_step([*search, "--run_dir", str(work / "search"), "--model.warmup_epochs", "0",
                          "--trainer.max_epochs", "1"], few, many)
    retrain = per_step(["retrain", "--config", f"recipes/retrain_{recipe}.yaml", "--arch",
                        str(work / "search/arch.json"), "--run_dir", str(work / "retrain"), *data,
                        "--trainer.enable_progress_bar", "false", "--trainer.max_epochs", "1",
                        "--trainer.limit_test_batches", "1"], few, many)
    return {"batch_size": batch_size, "warmup_step_s": warmup, "search_step_s": searching, "retrain_step_s": retrain}


def main_benchmark() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size-cifar", type=int, default=64)
    parser.add_argument("--batch-size-mobile", type=int, default=8)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="hwnas-recipe-steps-") as folder:
        folder = Path(folder)
        write_fake_cifar(folder / "cifar", per_batch=2000)
        results["cifar"] = recipe_steps("cifar", folder / "cifar", args.batch_size_cifar, folder / "cifar_runs", 2, 6)
        for split in ("train", "val"):  # small PNGs: decoding costs less than real photos' JPEGs
            write_image_folder(folder / "imagenet" / split, [f"n{c:04d}" for c in range(1000)], per_class=1)
        results["mobile"] = recipe_steps("mobile", folder / "imagenet", args.batch_size_mobile, folder / "mobile_runs",
                                         1, 3)
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main_benchmark()
