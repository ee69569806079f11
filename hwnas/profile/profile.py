"""Measure a latency table on this machine: a kit written locally, run in-process, imported.

Every entry is exported as it is deployed (eval mode, BN folded, residual included, batch 1)
and timed together with a fixed reference subnet and the calibration subnets in the same
interleaved rounds (measuring/timing.py says why), so entries, reference and calibration all see
the same machine state.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.device import FLOAT32
from hwnas.latency.table import LatencyTable, save_table
from hwnas.measuring.timing import ROUNDS, WARMUP_ROUNDS, provider_for
from hwnas.net.space import SearchSpace, load_space
from hwnas.profile.current import check_table_out, describe, why_not_current
from hwnas.profile.kit import CALIBRATION_SAMPLES, import_results, write_kit
from hwnas.profile.kit_runner import run_kit

log = logging.getLogger(__name__)


def profile_space(space: SearchSpace, *, device: str = "cpu", threads: int = 1, precision: str = FLOAT32,
                  rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS,
                  calibration_samples: int = CALIBRATION_SAMPLES, seed: int = 0, workdir: str | Path | None = None,
                  resume: bool = False) -> LatencyTable:
    """Profile `space`. With a `workdir`, the exported models are kept there until the table
    is built (so `resume` continues an interrupted run) and removed after; without one, a
    temporary folder is used."""
    if rounds < 1 or warmup_rounds < 0:  # checked before minutes of export, not by the timing after them
        raise HwnasError(f"need --rounds ≥ 1 (and warm-up rounds ≥ 0), got {rounds} ({warmup_rounds})")
    provider_for(device, threads)  # e.g. --device gpu without the CUDA provider: said before any export
    with tempfile.TemporaryDirectory(prefix="hwnas-profile-") as temporary:
        folder = Path(workdir) if workdir is not None else Path(temporary)
        write_kit(space, folder, device=device, threads=threads, precision=precision,
                  calibration_samples=calibration_samples, seed=seed, resume=resume)
        log.info(f"timing: {warmup_rounds} warm-up + {rounds} interleaved rounds on {device}")
        table = import_results(run_kit(folder, rounds, warmup_rounds, log.info), str(folder / "results.json"))
        if workdir is not None:
            shutil.rmtree(folder)
    return table


def run_profile(space_path: str, out: str, *, device: str = "cpu", threads: int = 1, precision: str = FLOAT32,
                rounds: int = ROUNDS, calibration_samples: int = CALIBRATION_SAMPLES, resume: bool = False,
                skip_if_current: bool = False) -> None:
    """`hwnas profile`: the table of `space_path` on this machine into `out`; with `skip_if_current`,
    nothing when `out` already is this machine's table (profile/current.py). An interrupted profile keeps
    its exports in OUT.partial/ for `resume`."""
    space = load_space(space_path)
    check_table_out(out, f"{space.name}-{device}{'' if precision == FLOAT32 else '-' + precision}.json")
    if skip_if_current and Path(out).is_file():
        reason = why_not_current(out, space, device, threads, precision)
        if reason is None:
            log.info(f"{out} is up to date for space {space.name} ({space.fingerprint()}) on this machine; "
                     f"not re-profiling")
            return
        log.info(f"re-profiling {out} for this machine: {reason}")
    table = profile_space(space, device=device, threads=threads, precision=precision, rounds=rounds,
                          calibration_samples=calibration_samples, workdir=f"{out}.partial", resume=resume)
    save_table(table, out)
    log.info(describe(table, out))
