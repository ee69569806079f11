"""Onboard a device from a few measurements: another device's entries, this device's calibration.

A full profile exports and times every entry of the space. But what differs between two CPUs
is mostly the scale and the per-call overheads, which the calibration (calibration.py) holds,
not the ranking of the ops: the per-op entries of one CPU ranked another CPU's subnets well
once rescaled (DESIGN.md, "Onboarding a new device"). So onboarding keeps the source table's
entries, times `subnets` whole subnets here (the reference among them, the smallest and the
largest, the rest random) in interleaved rounds, and refits the calibration on them:

    measured_here ≈ scale · Σ source entries + per_op · n_ops + per_weight_mb · weight_MB + offset

The result is a table stamped with this device, its reference timed here, and marked as
transferred from the source (path, sha256, device). `hwnas validate-table` reports its
fidelity like any other's; BENCHMARKS.md compares it with a full profile of the same machine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.calibration import CalibrationPoint, fit_calibration
from hwnas.latency.table import LatencyTable, arch_keys, arch_weight_mb
from hwnas.measuring.measure import REFERENCE, measure_beside_reference
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata
from hwnas.profile.kit import calibration_archs, export_identity
from hwnas.records.arch_record import TableRef

ONBOARD_SUBNETS = 20  # whole subnets measured here, the reference among them
MIN_SUBNETS = 2  # fewer than 8 fit fewer calibration terms (calibration.FALLBACKS)


class OnboardError(HwnasError):
    pass


def onboard_table(source: LatencyTable, source_path: str | Path, *, subnets: int = ONBOARD_SUBNETS,
                  rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS, seed: int = 0,
                  log: Callable[[str], None] = print) -> LatencyTable:
    """A table of this machine (same device kind and threads as `source`) from `source`'s entries
    and `subnets` subnets measured here, at `source`'s precision."""
    if subnets < MIN_SUBNETS:
        raise OnboardError(f"--subnets must be at least {MIN_SUBNETS} (the calibration's scale alone needs 2; "
                           f"all 4 terms need 8), got {subnets}")
    kind, threads = source.device["kind"], source.device["threads"]
    if kind == "mobile":
        raise OnboardError("a phone or board is onboarded by running its kit there (`hwnas kit --device mobile`); "
                           "`hwnas onboard` measures this machine")
    device = runtime_metadata(kind, threads)  # refuses a device this machine cannot run, before any export
    space = source.space
    archs = {f"subnet{i:03d}": arch for i, arch in enumerate(calibration_archs(space, subnets - 1, seed), 1)}
    log(f"onboarding {space.name} on this machine from {source_path}: timing {len(archs) + 1} subnets")
    measured = measure_beside_reference(archs, source, rounds=rounds, warmup_rounds=warmup_rounds, seed=seed,
                                        log=log)
    points = [(source.reference_arch(), measured.reference_now_ms)]
    points += [(arch, measured.measurements[name].median_ms) for name, arch in archs.items()]
    try:
        calibration = fit_calibration([CalibrationPoint(arch.ops, source.sum_ms(arch), len(arch_keys(arch)),
                                                        arch_weight_mb(arch), ms) for arch, ms in points])
    except ValueError as refused:
        raise OnboardError(f"{refused}: measure more subnets (--subnets), or profile this machine in full "
                           f"(`hwnas profile`)") from None
    return LatencyTable(
        space=space, device={**device, "batch_size": 1, "precision": source.precision},
        protocol={"rounds": rounds, "warmup_rounds": warmup_rounds, "order": INTERLEAVED, "export": export_identity(),
                  "onboarded_on": f"{len(points)} whole subnets ({REFERENCE} among them)"},
        entries=dict(source.entries), reference_ops=source.reference_ops, reference_ms=measured.reference_now_ms,
        calibration=calibration, transferred_from=TableRef.of(source_path, source.device).to_json(),
    )
