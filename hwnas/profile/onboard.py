"""Onboard a device from a few measurements: another device's entries, this device's calibration.

A full profile exports and times every entry of the space. But what differs between two CPUs
is mostly the scale and the per-call overheads, which the calibration (calibration.py) holds,
not the ranking of the ops: the per-op entries of one CPU ranked another CPU's subnets well
once rescaled (docs/latency.md, "What carries from one machine to another"). So onboarding keeps the source table's
entries, times `subnets` whole subnets here (the reference among them, the smallest and the
largest, the rest random) in interleaved rounds, and refits the calibration on them:

    measured_here ≈ scale · Σ source entries + per_op · n_ops + per_weight_mb · weight_MB + offset

The result is a table stamped with this device, its reference timed here, and marked as
transferred from the source (path, sha256, device). `hwnas validate-table` reports its
fidelity like any other's; BENCHMARKS.md compares it with a full profile of the same machine.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.files.atomic import atomic_output
from hwnas.latency.calibration import fit_calibration
from hwnas.latency.device import Device
from hwnas.latency.table import LatencyTable, load_table, save_table
from hwnas.measuring.measure import REFERENCE, measure_beside_reference
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata
from hwnas.profile.current import check_table_out, describe, why_not_current
from hwnas.profile.kit import calibration_archs, check_calibration_count, export_identity

log = logging.getLogger(__name__)

ONBOARD_SUBNETS = 20  # whole subnets measured here, the reference among them (fewer than 8 fit fewer terms)


class OnboardError(HwnasError):
    pass


def onboard_table(source: LatencyTable, *, subnets: int = ONBOARD_SUBNETS, rounds: int = ROUNDS,
                  warmup_rounds: int = WARMUP_ROUNDS, seed: int = 0) -> LatencyTable:
    """A table of this machine (same device kind and threads as `source`) from `source`'s entries
    and `subnets` subnets measured here, at `source`'s precision."""
    check_calibration_count(source.space, subnets, "--subnets")  # the reference is one of them
    kind, threads = source.device.kind, source.device.threads
    if kind == "mobile":
        raise OnboardError("a phone or board is onboarded by running its kit there (`hwnas kit --device mobile`); "
                           "`hwnas onboard` measures this machine")
    here = runtime_metadata(kind, threads)  # refuses a device this machine cannot run, before any export
    space = source.space
    archs = {f"subnet{i:03d}": arch for i, arch in enumerate(calibration_archs(space, subnets - 1, seed), 1)}
    log.info(f"onboarding {space.name} on this machine from {source.ref.path}: timing {len(archs) + 1} subnets")
    measured = measure_beside_reference(archs, source, rounds=rounds, warmup_rounds=warmup_rounds, seed=seed,
                                        progress="")
    points = [(source.reference_arch(), measured.reference_now_ms)]
    points += [(arch, measured.measurements[name].median_ms) for name, arch in archs.items()]
    try:
        calibration = fit_calibration([source.calibration_point(arch, ms) for arch, ms in points])
    except ValueError as refused:
        raise OnboardError(f"{refused}: measure more subnets (--subnets), or profile this machine in full "
                           f"(`hwnas profile`)") from None
    return LatencyTable(
        space=space, device=Device.from_json({**here, "batch_size": 1, "precision": source.precision}),
        protocol={"rounds": rounds, "warmup_rounds": warmup_rounds, "order": INTERLEAVED, "export": export_identity(),
                  "onboarded_on": f"{len(points)} whole subnets ({REFERENCE} among them)"},
        entries=dict(source.entries), reference_ops=source.reference_ops, reference_ms=measured.reference_now_ms,
        calibration=calibration, transferred_from=source.ref,
    )


def run_onboard(source_path: str, out: str, *, subnets: int = ONBOARD_SUBNETS, rounds: int = ROUNDS,
                skip_if_current: bool = False) -> None:
    """`hwnas onboard`: this machine's table from `source_path`'s into `out`. With `skip_if_current`,
    nothing when `out` already is this machine's table, and a copy of the source when it was measured here."""
    if rounds < 1:
        raise OnboardError(f"--rounds must be at least 1, got {rounds}")
    source = load_table(source_path)
    check_table_out(out, Path(source_path).name)
    if Path(out).resolve() == Path(source_path).resolve():
        raise OnboardError(f"--out {out} is the --from table: write this machine's table elsewhere "
                           f"(latency_tables/local/{Path(source_path).name})")
    if skip_if_current:
        asked = (source.space, source.device.kind, source.device.threads, source.precision)
        if Path(out).is_file():
            reason = why_not_current(out, *asked)
            if reason is None:
                log.info(f"{out} is up to date for space {source.space.name} on this machine; not onboarding")
                return
            log.info(f"{out} is not this machine's table: {reason}")
        if why_not_current(source_path, *asked) is None:
            with atomic_output(out) as temporary:
                temporary.write_bytes(Path(source_path).read_bytes())
            log.info(f"{source_path} was measured on this machine: copied it to {out}")
            return
    table = onboard_table(source, subnets=subnets, rounds=rounds)
    save_table(table, out)
    log.info(describe(table, out))
