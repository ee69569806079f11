"""Two trainings on one small machine: how much slower is each beside another than alone?

    .venv/bin/python benchmarks/side_by_side.py [--epochs 10] [--threads auto] [--first-threads N] [--apart 2]

The demo's retrain (recipes/retrain_demo.yaml on the embedded digits, the search's arch of a fresh
supernet: every layer's middle op) run once alone, then twice at the same time, each as its own
`hwnas retrain` process started --apart seconds apart (0: together, each finding the cores idle).
Reported: the wall time alone, each of the two side by side, and their ratio to the one alone. `--threads auto` leaves the threads to hwnas (the cores the
load leaves free, data/cores.py); a number passes --threads N to both, e.g. the machine's core count
for what every process took before. `--first-threads N` gives the first of the pair (only) N threads: a
training started on an idle machine, which keeps them when the second arrives.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hwnas.net.arch import Arch
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord, Provenance


def retrain(arch: Path, folder: Path, epochs: int, threads: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "hwnas", "retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(arch),
               "--run_dir", str(folder), "--trainer.max_epochs", str(epochs), "--trainer.enable_progress_bar", "false",
               *([] if threads == "auto" else ["--threads", threads])]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(processes: list[subprocess.Popen], started: list[float]) -> list[float]:
    ended = []
    for process, start in zip(processes, started):
        if process.wait() != 0:
            raise SystemExit("a retrain failed")
        ended.append(time.perf_counter() - start)
    return ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", default="auto")
    parser.add_argument("--first-threads", default=None, help="threads of the first of the pair (default --threads)")
    parser.add_argument("--apart", type=float, default=2.0, help="seconds between the pair's starts")
    args = parser.parse_args()
    space = load_space("recipes/spaces/demo.yaml")
    with tempfile.TemporaryDirectory(prefix="hwnas-side-by-side-") as folder:
        arch = Path(folder) / "arch.json"
        ArchRecord(Arch(space, tuple(layer.candidates[len(layer.candidates) // 2] for layer in space.layers())),
                   Provenance("benchmark side by side")).save(arch)
        start = time.perf_counter()
        (alone,) = timed([retrain(arch, Path(folder) / "alone", args.epochs, args.threads)], [start])
        processes, started = [], []
        for index in range(2):
            started.append(time.perf_counter())
            threads = args.first_threads if index == 0 and args.first_threads else args.threads
            processes.append(retrain(arch, Path(folder) / f"beside{index}", args.epochs, threads))
            time.sleep(args.apart)
        beside = timed(processes, started)
    print(f"threads {args.threads} (first of the pair: {args.first_threads or args.threads}), started {args.apart:g} s "
          f"apart: alone {alone:.0f} s; "
          f"side by side {beside[0]:.0f} s and {beside[1]:.0f} s "
          f"({beside[0] / alone:.2f}x and {beside[1] / alone:.2f}x the one alone)")


if __name__ == "__main__":
    main()
