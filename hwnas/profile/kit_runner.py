"""Run a profiling kit: time every model of manifest.json and write results.json.

A kit (`hwnas kit`) is a folder with models/, manifest.json, timing.py and this file as
run.py. It needs only python3, numpy and onnxruntime, so it runs on a phone or a board:

    python3 run.py [--rounds 300] [--warmup-rounds 30]

then bring results.json back and `hwnas import-table results.json --out latency_tables/NAME.json`.
`hwnas profile` runs the very same code in-process on the local machine.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

try:  # inside the hwnas package
    from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata, time_interleaved
except ImportError:  # inside a kit folder, next to timing.py
    from timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata, time_interleaved

RESULTS_FORMAT, RESULTS_VERSION = "hwnas.kit_results", 1


class KitFolderError(ValueError):
    """A kit folder that cannot be run as it is; the message says why."""


def run_kit(folder: str | Path, rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS, log=print) -> dict:
    """Time all the kit's models together (interleaved rounds) and write folder/results.json;
    progress through the rounds goes to `log`."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    device, threads = manifest["device"]["kind"], manifest["device"]["threads"]
    metadata = runtime_metadata(device, threads)  # checks the device before anything runs
    paths = {name: str(folder / model["file"]) for name, model in manifest["models"].items()}
    outside = next((path for path in paths.values() if not Path(path).resolve().is_relative_to(folder.resolve())), None)
    if outside:  # a kit received from someone else runs only its own files
        raise KitFolderError(f"{folder / 'manifest.json'} names {outside}, outside the kit folder: "
                             f"refusing to run it; write the kit again with `hwnas kit`")
    stats = time_interleaved(paths, device=device, threads=threads, rounds=rounds, warmup_rounds=warmup_rounds,
                             log=log)
    results = {
        "format": RESULTS_FORMAT, "version": RESULTS_VERSION, "manifest": manifest,
        "device": {**metadata, "batch_size": 1, "precision": manifest["device"].get("precision", "float32"),
                   **manifest["device"].get("notes", {})},
        "protocol": {"rounds": rounds, "warmup_rounds": warmup_rounds,
                     "order": INTERLEAVED},
        "stats": stats,
    }
    temporary = folder / ".results.json.tmp"
    temporary.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(temporary, folder / "results.json")  # never a half-written results file
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--warmup-rounds", type=int, default=WARMUP_ROUNDS)
    args = parser.parse_args()
    folder = Path(__file__).resolve().parent
    try:
        results = run_kit(folder, args.rounds, args.warmup_rounds)
    except KitFolderError as refused:
        raise SystemExit(f"run.py: error: {refused}") from None  # one line, exit status 1
    print(f"timed {len(results['stats'])} models; wrote {folder / 'results.json'}")


if __name__ == "__main__":
    main()
