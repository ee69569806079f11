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

A phone or board is onboarded the same way from measurements made there: `--kit DIR` writes the
reference and the subnets to measure (chosen to spread the calibration's features:
latency/calibration_design.py) as a kit, its run.py measures them on the device, and `--measured
results.json` fits the calibration on what it brought back (docs/published_tables.md).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.files.atomic import atomic_output, check_writable
from hwnas.files.numbers import milliseconds
from hwnas.latency.calibration import fit_calibration
from hwnas.latency.calibration_design import spread_subnets
from hwnas.latency.device import Device
from hwnas.latency.table import LatencyTable, load_table, save_table
from hwnas.measuring.measure import REFERENCE, time_beside
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata
from hwnas.net.arch import Arch, ArchError, random_arch
from hwnas.net.space import SpaceError, parse_space
from hwnas.profile.current import check_table_out, describe, why_not_current
from hwnas.profile.kit import calibration_archs, check_calibration_count, export_identity, load_results, write_kit

log = logging.getLogger(__name__)

ONBOARD_SUBNETS = 20  # whole subnets measured here, the reference among them (fewer than 8 fit fewer terms)
# Mean |error| (%) of an onboarded calibration on its own subnets above which the table is written with
# a note to profile in full: the derive's window is 10% wide ([0.9 T, T]), and a prediction that far off
# on average puts archs predicted near T outside it more often than its correction tries absorb.
POOR_FIT_MEAN_PCT = 5.0
POOL = 2000  # random subnets the subnets to measure elsewhere are chosen from (a second to price)


class OnboardError(HwnasError):
    pass


def onboard_table(source: LatencyTable, *, subnets: int = ONBOARD_SUBNETS, rounds: int = ROUNDS,
                  warmup_rounds: int = WARMUP_ROUNDS, seed: int = 0) -> LatencyTable:
    """A table of this machine (same device kind and threads as `source`) from `source`'s entries
    and `subnets` subnets measured here, at `source`'s precision."""
    check_calibration_count(source.space, subnets, "--subnets")  # the reference is one of them
    kind, threads = source.device.kind, source.device.threads
    if kind == "mobile":
        raise OnboardError("a phone or board is onboarded from measurements made there: `hwnas onboard --from TABLE "
                           "--kit DIR`, run DIR/run.py on it, then `--measured DIR/results.json --out ...`")
    here = runtime_metadata(kind, threads)  # refuses a device this machine cannot run, before any export
    space = source.space
    archs = {f"subnet{i:03d}": arch for i, arch in enumerate(calibration_archs(space, subnets - 1, seed), 1)}
    log.info(f"onboarding {space.name} on this machine from {source.ref.path}: timing {len(archs) + 1} subnets")
    medians = {name: stats["median_ms"] for name, stats in time_beside(
        archs, source, {REFERENCE: source.reference_arch()}, device=kind, threads=threads, rounds=rounds,
        warmup_rounds=warmup_rounds, seed=seed, progress="").items()}
    points = [(source.reference_arch(), medians[REFERENCE])]
    points += [(arch, medians[name]) for name, arch in archs.items()]
    device = Device.from_json({**here, "batch_size": 1, "precision": source.precision})
    protocol = {"rounds": rounds, "warmup_rounds": warmup_rounds, "order": INTERLEAVED, "export": export_identity(),
                "onboarded_on": f"{len(points)} whole subnets ({REFERENCE} among them)"}
    return calibrated_copy(source, points, device, protocol, source.reference_ops, medians[REFERENCE])


def calibrated_copy(source: LatencyTable, points: list[tuple[Arch, float]], device: Device, protocol: dict,
                    reference_ops: tuple[str, ...], reference_ms: float) -> LatencyTable:
    """`source`'s entries with a calibration fitted on (subnet, measured ms) `points` of `device`."""
    try:
        calibration = fit_calibration([source.calibration_point(arch, ms) for arch, ms in points])
    except ValueError as refused:
        raise OnboardError(f"{refused}: measure more subnets (--subnets), or profile the device in full") from None
    return LatencyTable(space=source.space, device=device, protocol=protocol, entries=dict(source.entries),
                        reference_ops=reference_ops, reference_ms=reference_ms, calibration=calibration,
                        transferred_from=source.ref)


def onboarding_subnets(source: LatencyTable, count: int, seed: int = 0) -> list[Arch]:
    """The `count` subnets to measure on a new device, the reference first: a D-optimal spread of the
    calibration's features (latency/calibration_design.py) over POOL random subnets and the space's
    fastest and slowest (a search may go there), by the source table."""
    rng = random.Random(seed)
    pool = [random_arch(source.space, rng) for _ in range(POOL)] + list(source.extreme_archs())
    return spread_subnets(source, pool, count, first=[source.reference_arch()])


def write_onboarding_kit(source: LatencyTable, folder: str, subnets: int = ONBOARD_SUBNETS) -> dict:
    """`hwnas onboard --kit`: the kit of the subnets to measure on the source's kind of device, at its
    precision; run there, its results.json is what `--measured` takes."""
    check_writable(folder, folder=True)
    device = source.device
    manifest = write_kit(source.space, folder, device=device.kind, threads=device.threads, precision=source.precision,
                         subnets=onboarding_subnets(source, subnets))
    log.info(f"wrote {folder}: the reference and {len(manifest['models']) - 1} subnets to measure. Copy it to the "
             f"device, run `python3 run.py` there, then `hwnas onboard --from {source.ref.path} --measured "
             f"{folder}/results.json --out ...`")
    return manifest


def onboard_from_measurements(source: LatencyTable, results: dict, path: str) -> LatencyTable:
    """The table of the device that measured `results` (a kit's results.json: its reference and subnets;
    entries ignored), from `source`'s entries; the file's first subnet is the reference if it has none."""
    try:
        space = parse_space(results["manifest"]["space"]["definition"], f"{path} (space definition)")
        measured = [(model["kind"], Arch(space, tuple(model["ops"])),
                     milliseconds(results["stats"][name]["median_ms"], f"model {name}'s median_ms"))
                    for name, model in results["manifest"]["models"].items() if model["kind"] != "entry"]
        device = Device.from_json({"precision": source.precision, **results["device"]})
        protocol = {**results.get("protocol", {}), "onboarded_on": f"{len(measured)} whole subnets measured there"}
    except (KeyError, TypeError, ValueError, AttributeError, SpaceError, ArchError) as error:
        raise OnboardError(f"{path}: not a kit's measured subnets ({type(error).__name__}: {error}): measure "
                           f"them again (`hwnas onboard --from TABLE --kit DIR` writes what to run)") from None
    if space.fingerprint() != source.space.fingerprint():
        raise OnboardError(f"{path}: measured for space {space.name} ({space.fingerprint()}), the --from table is "
                           f"of {source.space.name} ({source.space.fingerprint()}): onboard from a table of its space")
    reference = next(((arch, ms) for kind, arch, ms in measured if kind == "reference"), measured[0][1:])
    points = [(Arch(source.space, arch.ops), ms) for _, arch, ms in measured]
    return calibrated_copy(source, points, device, protocol, reference[0].ops, reference[1])


def run_onboard(source_path: str, out: str | None, *, subnets: int = ONBOARD_SUBNETS, rounds: int = ROUNDS,
                skip_if_current: bool = False, measured: str | None = None, kit: str | None = None) -> None:
    """`hwnas onboard`: a table from `source_path`'s entries into `out`, calibrated for this machine (subnets
    timed here) or, with `measured`, for the device whose kit results those are; with `kit`, instead, the
    kit of the subnets to measure on the source's kind of device. With `skip_if_current`, nothing when `out`
    already is this machine's table, and a copy of the source when it was measured here."""
    if rounds < 1:
        raise OnboardError(f"--rounds must be at least 1, got {rounds}")
    if kit is not None and (out or measured or skip_if_current):
        raise OnboardError("--kit writes the subnets to measure on the device; --out, --measured and "
                           "--skip_if_current make the table afterwards: give them in a second command")
    if kit is None and out is None:
        raise OnboardError("name the table to write (--out latency_tables/local/NAME.json), or --kit DIR for the "
                           "subnets to measure on another device")
    source = load_table(source_path)
    check_calibration_count(source.space, subnets, "--subnets")  # the reference is one of them
    if kit is not None:
        write_onboarding_kit(source, kit, subnets)
        return
    check_table_out(out, Path(source_path).name)
    if Path(out).resolve() == Path(source_path).resolve():
        raise OnboardError(f"--out {out} is the --from table: write this machine's table elsewhere "
                           f"(latency_tables/local/{Path(source_path).name})")
    if measured is not None:
        if skip_if_current:
            raise OnboardError("--skip_if_current asks about this machine; --measured onboards another device")
        table = onboard_from_measurements(source, load_results(measured), measured)
    elif skip_if_current and _current_or_copied(source, source_path, out):
        return
    else:
        table = onboard_table(source, subnets=subnets, rounds=rounds)
    save_table(table, out)
    log.info(describe(table, out))
    fit_pct = table.calibration.measured_error_pct()
    if fit_pct > POOR_FIT_MEAN_PCT:
        remedy = ("measure more subnets there (--subnets with --kit), or profile the device in full" if measured else
                  f"profile this machine in full: `hwnas profile --space SPACE.yaml --device {table.device.kind} "
                  f"--threads {table.device.threads} --out {out}`")
        log.info(f"note: the calibration misses the {len(table.calibration.points)} subnets it was fitted on by "
                 f"{fit_pct:.1f}% on average: this device does not run the ops of {source_path} in the same "
                 f"proportions, and archs predicted near a target may measure outside its window; {remedy}")


def _current_or_copied(source: LatencyTable, source_path: str, out: str) -> bool:
    """True when `out` already is this machine's table of the source's space, or now is, copied from
    the source because that was measured here."""
    asked = (source.space, source.device.kind, source.device.threads, source.precision)
    if Path(out).is_file():
        reason = why_not_current(out, *asked)
        if reason is None:
            log.info(f"{out} is up to date for space {source.space.name} on this machine; not onboarding")
            return True
        log.info(f"{out} is not this machine's table: {reason}")
    if why_not_current(source_path, *asked) is None:
        with atomic_output(out) as temporary:
            temporary.write_bytes(Path(source_path).read_bytes())
        log.info(f"{source_path} was measured on this machine: copied it to {out}")
        return True
    return False
