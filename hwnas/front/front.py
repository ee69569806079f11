"""`hwnas front`: from one trained supernet, the best arch per budget and the Pareto front on every device.

    hwnas front --ckpt RUN/search/checkpoints/last.ckpt --table A.json --table B.json
                [--points 8 | --targets 0.05 0.08] [--pool 300] [--seed 0] [--calibration_batches 4]
                [--no_measure] [--out RUN/front]

An arch's accuracy does not depend on the device, its latency does. So a pool of archs (--pool
drawn at random, seeded, the archs with one op everywhere and every table's fastest and slowest
arch, which random draws rarely reach) is scored once on the supernet, as `hwnas select` scores
(scoring/subnet_eval.py: BN recalibrated per arch, minus the cross-entropy on the search's arch
split, the accuracy beside it), and then
priced with every table. Per device:

    budgets   --targets, or --points evenly spaced over the table's own range (fastest-slowest arch)
    chosen    per budget T, the best-scoring pool arch predicted ≤ T (select/evolution.py's `best`)
    front     the pool archs no other beats on both predicted latency and score
    measured  where the table's device is this machine: the chosen archs timed beside the table's
              own subnets (measuring/measure.py), judged at the table's speed; elsewhere, why not

Written together, as one folder (files/atomic.py's atomic_folder): OUT/front.json (FrontSummary: per
device its budgets, chosen archs and front; the cross-device matrix: each chosen arch's prediction on
every table), OUT/front.png, and OUT/<table name>/<T>ms/arch.json for every chosen arch, with its
provenance, to retrain and export like any other. A re-run replaces them all, so no arch.json of an
earlier run's budgets stays beside a front.json that no longer lists it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwnas.errors import HwnasError
from hwnas.files.atomic import atomic_folder, check_replaceable, check_writable, write_json
from hwnas.files.numbers import milliseconds
from hwnas.files.strict import read_record
from hwnas.front.plot import plot_fronts
from hwnas.latency.objective import check_target_ms
from hwnas.latency.table import LatencyTable, load_table
from hwnas.measuring.device_identity import why_not_measured
from hwnas.measuring.measure import Measurement, measure_at_table_speed
from hwnas.net.arch import Arch, random_arch
from hwnas.net.memory import MemoryCaps
from hwnas.records.arch_record import ArchRecord, Provenance
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.select.evolution import Evaluated, best, pareto_front
from hwnas.scoring.subnet_eval import SCORING, scorer_of_search

log = logging.getLogger(__name__)
FORMAT, VERSION = "hwnas.front", 3
MAX_POOL = 100_000  # archs scored at most: ~0.1 s each on the demo supernet, so hours past this


@dataclass(frozen=True)
class FrontSummary:
    """front.json. Versions 1 (7c7bfa7: no format key) and 2 (scored by accuracy) still load."""
    checkpoint: str
    pool: int  # archs in the pool
    scored: int  # archs scored on the supernet: each once, whatever the number of devices
    memory_caps: dict
    devices: dict  # table name → {"table", "latency_range_ms", "chosen": [rows], "front": [rows]}
    cross_device_ms: list  # [{"chosen_for", "target_ms", "ops", "predicted_ms": {table name: ms}}]

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "checkpoint": self.checkpoint, "pool": self.pool,
                "scored": self.scored, "memory_caps": self.memory_caps,
                "scoring": SCORING,
                "devices": self.devices, "cross_device_ms": self.cross_device_ms}

    @classmethod
    def load(cls, path: str | Path) -> FrontSummary:
        with read_record(path, FORMAT, (1, VERSION), "front summary",
                           "no front.json (`hwnas front` writes RUN/front/front.json)", "run front again") as data:
            devices = dict(data["devices"])
            for device in devices.values():
                for row in device["chosen"]:
                    milliseconds(row["target_ms"], "a chosen row's target_ms")
            return cls(str(data["checkpoint"]), int(data["pool"]), int(data["scored"]), dict(data["memory_caps"]),
                       devices, list(data["cross_device_ms"]))


def candidate_pool(space, size: int, seed: int) -> list[Arch]:
    """`size` distinct archs drawn uniformly (seeded), after the archs with one op in every layer; every
    arch of the space when it holds no more than that."""
    every = space.arch_count()
    pool = [Arch(space, tuple(op for _ in space.layers())) for op in space.ops]
    if every <= size + len(pool):
        log.info(f"space {space.name} holds {every} archs: the pool is all of them")
        return list(dict.fromkeys(pool + [Arch(space, ops) for ops in _all_ops(space)]))
    rng = random.Random(seed)
    while len(pool) < size + len(space.ops):
        arch = random_arch(space, rng)
        if arch not in pool:
            pool.append(arch)
    return pool


def _all_ops(space) -> list[tuple[str, ...]]:
    combinations: list[tuple[str, ...]] = [()]
    for layer in space.layers():
        combinations = [ops + (op,) for ops in combinations for op in layer.candidates]
    return combinations


def device_names(paths: list[Path]) -> list[str]:
    """A name per table for the outputs: its file name without .json, with its folder in front where
    two share one (latency_tables/local/demo-cpu.json → local-demo-cpu beside latency_tables-demo-cpu)."""
    stems = [path.stem for path in paths]
    names = [f"{path.resolve().parent.name}-{path.stem}" if stems.count(path.stem) > 1 else path.stem for path in paths]
    if len(set(names)) != len(names):
        raise HwnasError(f"two --table arguments name the same table ({', '.join(map(str, paths))}): give each once")
    return names


def budgets_for(table: LatencyTable, targets: list[float] | None, points: int) -> list[float]:
    fastest, slowest = table.latency_range_ms()
    return sorted(targets) if targets else [float(t) for t in np.linspace(fastest, slowest, points)]


def choose(pool: list[Evaluated], target_ms: float) -> Evaluated | None:
    # 1e-9 relative: the range's ends are sums in another order than predict_ms's, equal but for rounding
    feasible = [e for e in pool if e.latency_ms <= target_ms * (1 + 1e-9)]
    return best(feasible) if feasible else None


def run_front(ckpt: str, tables: list[str], out: str | None = None, targets: list[float] | None = None,
              points: int = 8, pool_size: int = 300, seed: int = 0, calibration_batches: int = 4, measure: bool = True,
              caps: MemoryCaps = MemoryCaps(), trusted: bool = False) -> FrontSummary:
    """The fronts and chosen archs of every table (module docstring), written to OUT (default: the run
    folder's `front`)."""
    if not tables:
        raise HwnasError("name at least one latency table with --table")
    if (targets is None and points < 1) or not 1 <= pool_size <= MAX_POOL or calibration_batches < 1:
        raise HwnasError(f"need --points ≥ 1, --pool in 1-{MAX_POOL} and --calibration_batches ≥ 1, got {points}, "
                         f"{pool_size}, {calibration_batches}")
    for target in targets or ():
        check_target_ms(target, "--targets")
    out = Path(out) if out else RunFolder.of_checkpoint(ckpt).beside("front")
    check_writable(out, folder=True)
    out = check_replaceable(out, "front.json").resolve()
    checkpoint = load_search_checkpoint(ckpt)
    space = checkpoint.supernet.space
    opened = [load_table(path, space) for path in tables]  # every table read before any scoring
    names = device_names([Path(path) for path in tables])
    scorer = scorer_of_search(checkpoint, calibration_batches, trusted=trusted)
    pool = list(dict.fromkeys(candidate_pool(space, pool_size, seed)  # + each device's range ends
                              + [arch for table in opened for arch in table.extreme_archs()]))
    pool = [arch for arch in pool if caps.fits(arch)] if caps else pool  # memory does not depend on the device
    if not pool:
        raise HwnasError(f"no arch of the pool keeps within the memory caps {caps.to_json()}: raise a cap")
    log.info(f"scoring {len(pool)} archs once on the supernet, then pricing them on {len(opened)} table(s)")
    scores = {arch: scorer(arch) for arch in pool}

    devices, records = {}, {}
    for name, table in zip(names, opened):
        priced = [Evaluated(arch, score, table.predict_ms(arch)) for arch, score in scores.items()]
        chosen = [(target, choose(priced, target)) for target in budgets_for(table, targets, points)]
        why_not = why_not_measured(table, measure)
        measured = _measure([e.arch for _, e in chosen if e], table) if why_not is None else {}
        rows = []
        for target, pick in chosen:
            row = {"target_ms": target, "ops": list(pick.arch.ops) if pick else None,
                   "score": pick.score if pick else None, "accuracy": scorer.accuracy[pick.arch] if pick else None,
                   "predicted_ms": pick.latency_ms if pick else None}
            if pick:
                measurement = measured.get(pick.arch)
                row.update(_measured_row(measurement, target, why_not))
                relative = Path(name) / f"{target:.6g}ms" / "arch.json"
                row["arch_json"] = str(out / relative)  # where it is once the folder is in place
                records[relative] = ArchRecord(pick.arch, Provenance(
                    stage="front", checkpoint=str(Path(ckpt).resolve()), table=table.ref, target_ms=target, floor=0.0,
                    predicted_ms=pick.latency_ms, measurement=measurement, not_measured_because=why_not,
                    selection={"method": f"best of a pool of {len(pool)}", "score": pick.score,
                               "arch_split_accuracy": scorer.accuracy[pick.arch]},
                    caps=caps.to_json() if caps else None))
            rows.append(row)
        devices[name] = {"table": table.ref.to_json(), "latency_range_ms": list(table.latency_range_ms()),
                         "chosen": rows, "front": [{"ops": list(e.arch.ops), "score": e.score,
                                                    "predicted_ms": e.latency_ms} for e in pareto_front(priced)]}
    summary = FrontSummary(str(Path(ckpt).resolve()), len(pool), len(scorer.scores), caps.to_json(), devices, [
        {"chosen_for": name, "target_ms": row["target_ms"], "ops": row["ops"],
         "predicted_ms": {other: table.predict_ms(Arch(space, tuple(row["ops"]))) for other, table in zip(names, opened)}}
        for name, device in devices.items() for row in device["chosen"] if row["ops"]])
    with atomic_folder(out, replaces_only="front.json") as staging:
        for relative, record in records.items():
            record.save(staging / relative)
        write_json(staging / "front.json", summary.to_json())
        plot_fronts(staging / "front.png", devices)
    _report(summary, out)
    return summary


def _measure(archs: list[Arch], table: LatencyTable) -> dict[Arch, Measurement]:
    """The chosen archs timed side by side at the table's speed."""
    unique = list(dict.fromkeys(archs))
    side_by_side = measure_at_table_speed({f"arch{i:03d}": arch for i, arch in enumerate(unique)}, table)
    return {arch: side_by_side.measurements[f"arch{i:03d}"] for i, arch in enumerate(unique)}


def _measured_row(measurement: Measurement | None, target_ms: float, why_not: str | None) -> dict:
    if measurement is None:
        return {"measured_ms": None, "measured_at_table_speed_ms": None, "not_measured_because": why_not}
    return {"measured_ms": measurement.median_ms, "measured_at_table_speed_ms": measurement.at_table_speed_ms,
            "under_target": measurement.at_table_speed_ms <= target_ms}


def _report(summary: FrontSummary, out: Path) -> None:
    for name, device in summary.devices.items():
        log.info(f"{name}: {len(device['front'])} archs on the front")
        for row in device["chosen"]:
            measured = row.get("measured_at_table_speed_ms")
            log.info(f"  T {row['target_ms']:.4f} ms: " + (
                f"{' '.join(row['ops'])}  score {row['score']:.4f}, predicted {row['predicted_ms']:.4f} ms"
                + (f", measured {measured:.4f} ms at the table's speed" if measured else "")
                if row["ops"] else "no arch of the pool fits"))
    log.info(f"scored {summary.scored} archs once for {len(summary.devices)} table(s); wrote {out}/front.json, "
             f"{out}/front.png and an arch.json per chosen arch")
