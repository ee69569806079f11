"""`hwnas front`: from one trained supernet, the best arch per budget and the Pareto front on every device.

    hwnas front --ckpt RUN/search/checkpoints/last.ckpt --table A.json --table B.json
                [--points 8 | --targets 0.05 0.08] [--pool 300] [--seed 0] [--calibration-batches 4]
                [--no-measure] [--out RUN/front]

An arch's accuracy does not depend on the device, its latency does. So a pool of archs (--pool
drawn at random, seeded, the archs with one op everywhere and every table's fastest and slowest
arch, which random draws rarely reach) is scored once on the supernet, as `hwnas select` scores
(select/subnet_eval.py: BN recalibrated per arch, accuracy on the search's arch split), and then
priced with every table. Per device:

    budgets   --targets, or --points evenly spaced over the table's own range (fastest-slowest arch)
    chosen    per budget T, the best-scoring pool arch predicted ≤ T (the fastest among equals)
    front     the pool archs no other beats on both predicted latency and score
    measured  where the table's device is this machine: the chosen archs timed beside the table's
              reference (measuring/measure.py), judged at the table's speed; elsewhere, why not

Written: OUT/front.json (per device: budgets, chosen archs, front; the cross-device matrix: each
chosen arch's prediction on every table), OUT/front.png, and OUT/<table name>/<T>ms/arch.json for
every chosen arch, with its provenance, to retrain and export like any other.
"""

from __future__ import annotations

import random
from itertools import islice
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from torch.utils.data import DataLoader

from hwnas.files.atomic import save_figure, write_json
from hwnas.errors import HwnasError
from hwnas.latency.table import LatencyTable, load_table
from hwnas.measuring.device_identity import differences_from_here
from hwnas.measuring.measure import measure_beside_reference
from hwnas.net.arch import Arch, random_arch
from hwnas.net.memory import MemoryCaps
from hwnas.records.arch_record import ArchRecord, Measurement, Provenance, TableRef
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.select.evolution import Evaluated, pareto_front
from hwnas.select.select import arch_split_of_run
from hwnas.select.subnet_eval import SubnetScorer


def candidate_pool(space, size: int, seed: int) -> list[Arch]:
    """`size` distinct archs drawn uniformly (seeded), after the archs with one op in every layer."""
    rng = random.Random(seed)
    pool = [Arch(space, tuple(op for _ in space.layers())) for op in space.ops]
    for _ in range(50 * size):
        if len(pool) >= size + len(space.ops):
            break
        arch = random_arch(space, rng)
        if arch not in pool:
            pool.append(arch)
    return pool


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
    return max(feasible, key=lambda e: (e.score, -e.latency_ms)) if feasible else None


def run_front(ckpt: str, tables: list[str], out: str, targets: list[float] | None = None, points: int = 8,
              pool_size: int = 300, seed: int = 0, calibration_batches: int = 4, measure: bool = True,
              caps: MemoryCaps = MemoryCaps(), log=print, trusted: bool = False) -> dict:
    """The fronts and chosen archs of every table (module docstring); returns front.json's content."""
    if not tables:
        raise HwnasError("name at least one latency table with --table")
    if (targets is None and points < 1) or pool_size < 1 or calibration_batches < 1:
        raise HwnasError(f"need --points ≥ 1, --pool ≥ 1 and --calibration-batches ≥ 1, got {points}, {pool_size}, "
                         f"{calibration_batches}")
    if targets and not all(np.isfinite(t) and t > 0 for t in targets):
        raise HwnasError(f"--targets are positive, finite numbers of ms, got {targets}")
    checkpoint = load_search_checkpoint(ckpt)
    supernet, space = checkpoint.supernet, checkpoint.supernet.space
    opened = [(Path(path), load_table(path, space)) for path in tables]  # every table read before any scoring
    names = device_names([path for path, _ in opened])
    datamodule = arch_split_of_run(RunFolder.of_checkpoint(ckpt).config, space, trusted)
    calibration = [x for x, _ in islice(DataLoader(datamodule.train_set, datamodule.batch_size), calibration_batches)]
    scorer = SubnetScorer(supernet, calibration, list(datamodule.val_dataloader()))
    pool = list(dict.fromkeys(candidate_pool(space, pool_size, seed)  # + each device's range ends
                              + [arch for _, table in opened for arch in table.extreme_archs()]))
    pool = [arch for arch in pool if caps.fits(arch)] if caps else pool  # memory does not depend on the device
    if not pool:
        raise HwnasError(f"no arch of the pool keeps within the memory caps {caps.to_json()}: raise a cap")
    log(f"scoring {len(pool)} archs once on the supernet, then pricing them on {len(opened)} table(s)")
    scores = {arch: scorer(arch) for arch in pool}

    devices, chosen_archs = {}, {}
    for name, (path, table) in zip(names, opened):
        priced = [Evaluated(arch, score, table.predict_ms(arch)) for arch, score in scores.items()]
        chosen = [(target, choose(priced, target)) for target in budgets_for(table, targets, points)]
        measured = _measure([e.arch for _, e in chosen if e], table, measure)
        ref = TableRef.of(path, table.device)
        rows = []
        for target, pick in chosen:
            row = {"target_ms": target, "ops": list(pick.arch.ops) if pick else None,
                   "score": pick.score if pick else None, "predicted_ms": pick.latency_ms if pick else None}
            if pick:
                measurement = measured["by_arch"].get(pick.arch)
                row.update(_measured_row(measurement, target, measured["why_not"]))
                record_path = Path(out) / name / f"{target:.6g}ms" / "arch.json"
                ArchRecord(pick.arch, Provenance(
                    stage="front", checkpoint=str(Path(ckpt).resolve()), table=ref, target_ms=target, floor=0.0,
                    predicted_ms=pick.latency_ms, measurement=measurement, not_measured_because=measured["why_not"],
                    selection={"method": f"best of a pool of {len(pool)}", "arch_split_accuracy": pick.score},
                    caps=caps.to_json() if caps else None)).save(record_path)
                row["arch_json"] = str(record_path)
                chosen_archs[(name, target)] = pick.arch
            rows.append(row)
        devices[name] = {"table": ref.to_json(), "latency_range_ms": list(table.latency_range_ms()), "chosen": rows,
                         "front": [{"ops": list(e.arch.ops), "score": e.score, "predicted_ms": e.latency_ms}
                                   for e in pareto_front(priced)]}
    summary = {"checkpoint": str(Path(ckpt).resolve()), "pool": len(pool), "scored": len(scorer.scores),
               "memory_caps": caps.to_json(),
               "scoring": "top-1 accuracy on the search's arch split, BN recalibrated per arch",
               "devices": devices,
               "cross_device_ms": [{"chosen_for": name, "target_ms": target, "ops": list(arch.ops),
                                    "predicted_ms": {other: table.predict_ms(arch) for other, (_, table)
                                                     in zip(names, opened)}}
                                   for (name, target), arch in chosen_archs.items()]}
    write_json(Path(out) / "front.json", summary)
    plot_fronts(Path(out) / "front.png", devices)
    return summary


def _measure(archs: list[Arch], table: LatencyTable, measure: bool) -> dict:
    """{"by_arch": Arch → Measurement, "why_not": None or why nothing was measured}."""
    differences = differences_from_here(table.device)
    if not measure or differences or not archs:
        why = "not asked to measure" if not measure else (
            f"the table's device is not this machine: {'; '.join(differences)}" if differences else None)
        return {"by_arch": {}, "why_not": why}
    unique = list(dict.fromkeys(archs))
    side_by_side = measure_beside_reference({f"arch{i:03d}": arch for i, arch in enumerate(unique)}, table)
    return {"by_arch": {arch: side_by_side.measurements[f"arch{i:03d}"] for i, arch in enumerate(unique)},
            "why_not": None}


def _measured_row(measurement: Measurement | None, target_ms: float, why_not: str | None) -> dict:
    if measurement is None:
        return {"measured_ms": None, "measured_at_table_speed_ms": None, "not_measured_because": why_not}
    return {"measured_ms": measurement.median_ms, "measured_at_table_speed_ms": measurement.at_table_speed_ms,
            "under_target": measurement.at_table_speed_ms <= target_ms}


def plot_fronts(path: Path, devices: dict) -> None:
    """One front per device (predicted latency, ms, against the supernet's score), its chosen archs
    as dots and, where measured, their measurement at the table's speed as crosses."""
    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = figure.subplots()
    for name, device in devices.items():
        front = device["front"]
        line, = ax.step([p["predicted_ms"] for p in front], [p["score"] for p in front], where="post",
                        linewidth=1, label=f"{name}: front")
        chosen = [row for row in device["chosen"] if row["ops"]]
        ax.scatter([row["predicted_ms"] for row in chosen], [row["score"] for row in chosen], color=line.get_color(),
                   s=18, label=f"{name}: chosen per budget")
        measured = [row for row in chosen if row.get("measured_at_table_speed_ms")]
        if measured:
            ax.scatter([row["measured_at_table_speed_ms"] for row in measured], [row["score"] for row in measured],
                       marker="x", color=line.get_color(), s=30, label=f"{name}: measured here")
    ax.set_xlabel("latency (ms): predicted by each device's table; x = measured")
    ax.set_ylabel("accuracy (arch split, BN recalibrated)")
    ax.set_title("one supernet, several devices")
    ax.legend(fontsize=7)
    save_figure(figure, path)
