"""Measure a latency table on this machine: a kit written locally, run in-process, imported.

Every entry is exported as it is deployed (eval mode, BN folded, residual included, batch 1)
and timed together with a fixed reference subnet and the calibration subnets in the same
interleaved rounds (`timing.py` says why), so entries, reference and calibration all see
the same machine state.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.table import FLOAT32, LatencyTable
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, provider_for, runtime_metadata, time_interleaved
from hwnas.net.space import SearchSpace
from hwnas.profile.kit import CALIBRATION_SAMPLES, import_results, write_kit
from hwnas.profile.kit_runner import run_kit


def profile_space(space: SearchSpace, *, device: str = "cpu", threads: int = 1, precision: str = FLOAT32,
                  rounds: int = ROUNDS,
                  warmup_rounds: int = WARMUP_ROUNDS, calibration_samples: int = CALIBRATION_SAMPLES,
                  seed: int = 0, workdir: str | Path | None = None, resume: bool = False,
                  log: Callable[[str], None] = print) -> LatencyTable:
    """Profile `space`. With a `workdir`, the exported models are kept there until the table
    is built (so `resume` continues an interrupted run) and removed after; without one, a
    temporary folder is used."""
    if rounds < 1 or warmup_rounds < 0:  # checked before minutes of export, not by the timing after them
        raise HwnasError(f"need --rounds ≥ 1 (and warm-up rounds ≥ 0), got {rounds} ({warmup_rounds})")
    provider_for(device, threads)  # e.g. --device gpu without the CUDA provider: said before any export
    with tempfile.TemporaryDirectory(prefix="hwnas-profile-") as temporary:
        folder = Path(workdir) if workdir is not None else Path(temporary)
        write_kit(space, folder, device=device, threads=threads, precision=precision,
                  calibration_samples=calibration_samples, seed=seed, resume=resume, log=log)
        log(f"timing: {warmup_rounds} warm-up + {rounds} interleaved rounds on {device}")
        table = import_results(run_kit(folder, rounds, warmup_rounds, log), str(folder / "results.json"))
        if workdir is not None:
            shutil.rmtree(folder)
    return table


def measure_onnx(path: str | Path, *, device: str = "cpu", threads: int = 1, rounds: int = ROUNDS,
                 warmup_rounds: int = WARMUP_ROUNDS, batch_size: int = 1, seed: int = 0) -> dict:
    """Time one whole model with the table's protocol: {"median_ms", "p25_ms", "p75_ms"}
    plus the batch size, device and protocol they were measured with."""
    metadata = runtime_metadata(device, threads)
    stats = time_interleaved({"model": str(path)}, device=device, threads=threads, rounds=rounds,
                             warmup_rounds=warmup_rounds, batch_size=batch_size, seed=seed)["model"]
    return {**stats, "batch_size": batch_size, "device": metadata,
            "protocol": {"rounds": rounds, "warmup_rounds": warmup_rounds, "order": f"{INTERLEAVED}; one model"}}
