"""Seconds per training step of the real-data recipes on this machine, for their headers'
expected times (BENCHMARKS.md, "Real-data recipes").

Each recipe's search runs through the CLI on random data of the real shape (CIFAR-10 batches;
a 1000-class train/ + val/ image folder at 224×224) for a few steps, and a callback times each
step from its batch's arrival to the end of its optimizer steps (data loading, in workers, is
not included). The first step is left out (it pays oneDNN's compilation of the new shapes) and
the median of the rest reported. Warm-up steps (the one-shot average over all paths, with drop
path), search steps (one binarized path per layer, plus an arch step) and retrain steps of the
searched subnet are timed separately.

    .venv/bin/python benchmarks/recipe_steps.py [--batch-size-mobile 8]   # ~5 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl

from hwnas.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fake_data import write_fake_cifar, write_image_folder  # noqa: E402  (the tests' tiny-data writers)

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.limit_val_batches", "0",
         "--trainer.num_sanity_val_steps", "0", "--model.derive.measure", "false", "--model.derive.floor", "0"]


class StepTimes(pl.Callback):
    """Seconds of each training step of the run it is given to (class-level: LightningCLI builds it)."""

    seconds: list[float] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        StepTimes.seconds.append(time.perf_counter() - self.start)


def per_step(command: list[str], steps: int) -> float:
    """Median seconds of steps 2..`steps` of the run."""
    import recipe_steps  # this file as LightningCLI imports it (not __main__): its StepTimes records

    recorded = recipe_steps.StepTimes.seconds
    recorded.clear()
    assert main([*command, "--trainer.limit_train_batches", str(steps),
                 "--trainer.callbacks+=recipe_steps.StepTimes"]) == 0, command
    return float(statistics.median(recorded[1:]))


def recipe_steps(recipe: str, root: Path, batch_size: int, work: Path, steps: int) -> dict:
    data = ["--data.init_args.root", str(root), "--data.init_args.batch_size", str(batch_size)]
    search = ["search", "--config", f"recipes/search_{recipe}.yaml", *data, *QUIET]
    warmup = per_step([*search, "--run_dir", str(work / "warm"), "--model.one_shot.epochs", "1",
                       "--trainer.max_epochs", "1", "--model.algorithm", "OneShotOnly"], steps)
    searching = per_step([*search, "--run_dir", str(work / "search"), "--model.one_shot.epochs", "0",
                          "--trainer.max_epochs", "1"], steps)
    retrain = per_step(["retrain", "--config", f"recipes/retrain_{recipe}.yaml", "--arch",
                        str(work / "search/arch.json"), "--run_dir", str(work / "retrain"), *data,
                        "--trainer.enable_progress_bar", "false", "--trainer.max_epochs", "1",
                        "--trainer.limit_test_batches", "1"], steps)
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
        results["cifar"] = recipe_steps("cifar", folder / "cifar", args.batch_size_cifar, folder / "cifar_runs", 6)
        for split in ("train", "val"):  # small PNGs: decoding costs less than real photos' JPEGs
            write_image_folder(folder / "imagenet" / split, [f"n{c:04d}" for c in range(1000)], per_class=1)
        results["mobile"] = recipe_steps("mobile", folder / "imagenet", args.batch_size_mobile, folder / "mobile_runs",
                                         4)
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main_benchmark()
