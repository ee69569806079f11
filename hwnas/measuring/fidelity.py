"""How well a table predicts what the deployed network costs: `hwnas validate-table`.

Fresh random subnets (none of the calibration set, not the reference) are exported as the
final model is, and timed whole in two independent interleaved runs, A and B, each with the
table's anchors in its rounds (measuring/measure.py). Reported, for the table's prediction against
run A:

- raw:         predicted_ms vs measured_A;
- normalized:  predicted_ms · speed_A vs measured_A, i.e. the prediction rescaled to the
               machine's speed state during run A (speed_A: the subnet's anchors now / in the table);

and, as the noise floor the prediction cannot beat, a second measurement against the first:
measured_B · (speed_A / speed_B) vs measured_A, with Kendall τ(A, B). Each gives the
mean and max |error| in %, the share within ±5% and ±10%, and Kendall τ.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from hwnas.errors import HwnasError
from hwnas.files.atomic import check_writable, save_figure
from hwnas.latency.table import LatencyTable, load_table, save_table
from hwnas.measuring.device_identity import differences_from_here
from hwnas.measuring.measure import SideBySide, measure_at_table_speed
from hwnas.measuring.timing import ROUNDS, WARMUP_ROUNDS
from hwnas.net.arch import Arch, random_arch

log = logging.getLogger(__name__)
VALIDATION_SAMPLES = 30  # fresh subnets `hwnas validate-table` measures by default


def fresh_archs(table: LatencyTable, count: int, seed: int, also_exclude: set[tuple[str, ...]] = frozenset()
                ) -> list[Arch]:
    """`count` distinct random subnets that neither calibrated the table nor are its reference (nor
    are in `also_exclude`: another table's calibration subnets, when several tables are scored)."""
    used = {table.reference_ops} | calibration_ops(table) | set(also_exclude)
    rng, chosen = random.Random(seed), {}
    for _ in range(100 * count):  # a small space may not hold `count` fresh subnets
        arch = random_arch(table.space, rng)
        if arch.ops not in used:
            chosen.setdefault(arch.ops, arch)
        if len(chosen) == count:
            break
    return list(chosen.values())


def calibration_ops(table: LatencyTable) -> set[tuple[str, ...]]:
    return {p.ops for p in (table.calibration.points if table.calibration else ())}


def agreement(predicted: np.ndarray, measured: np.ndarray) -> dict:
    """Errors of `predicted` against `measured` (both ms): mean/max |%|, share within ±5/±10%, τ."""
    error_pct = np.abs(predicted - measured) / measured * 100
    return {"mean_abs_error_pct": float(error_pct.mean()), "max_abs_error_pct": float(error_pct.max()),
            "within_5_pct": float((error_pct <= 5).mean()), "within_10_pct": float((error_pct <= 10).mean()),
            "kendall_tau": float(kendalltau(predicted, measured).statistic)}


@dataclass(frozen=True)
class TwoRuns:
    """Fresh subnets timed whole in two independent interleaved runs, A and B, each beside the table's anchors."""
    archs: list[Arch]
    runs: tuple[SideBySide, SideBySide]
    seed: int
    rounds: int
    warmup_rounds: int

    def medians(self, run: int) -> np.ndarray:
        return np.array([self.runs[run].measurements[f"subnet{i:03d}"].median_ms for i in range(len(self.archs))])

    def speeds(self, run: int, table: LatencyTable) -> np.ndarray:
        """Each subnet's speed during `run` relative to `table`'s: its anchors' now / in the table measured
        beside, carried to another `table` of the space by the two tables' times of their common reference
        subnet (benchmarks/onboarding.py scores several tables on one measurement). That carry holds the
        reference's own noise from the moments the two tables were made; for the table measured beside it is 1."""
        measurements = [self.runs[run].measurements[f"subnet{i:03d}"] for i in range(len(self.archs))]
        return np.array([m.speed_now * m.reference_table_ms / table.reference_ms for m in measurements])


def measure_twice(table: LatencyTable, archs: list[Arch], seed: int = 1, rounds: int = ROUNDS,
                  warmup_rounds: int = WARMUP_ROUNDS) -> TwoRuns:
    """Time `archs` twice, each run beside `table`'s anchors (measuring/measure.py), with its device and threads."""
    if len(archs) < 3:
        raise HwnasError(f"space {table.space.name} holds only {len(archs)} subnets outside the table's "
                         f"{len(calibration_ops(table))} calibration subnets, too few to validate: the "
                         f"calibration already measured nearly every arch of it (see its fit error)")
    models = {f"subnet{i:03d}": arch for i, arch in enumerate(archs)}
    log.info(f"timing {len(archs)} fresh subnets beside the table's own subnets in two independent runs")
    runs = tuple(measure_at_table_speed(models, table, runs=1, rounds=rounds, warmup_rounds=warmup_rounds,
                                        seed=seed + run, progress=f"{'AB'[run]}: ")
                 for run in (0, 1))
    return TwoRuns(archs, runs, seed, rounds, warmup_rounds)


def fidelity_report(table: LatencyTable, measured: TwoRuns) -> dict:
    """The table's predictions of `measured.archs` against run A (raw, and rescaled by the speed of
    their anchors in run A), and run B against run A as the noise floor."""
    measured_a, measured_b = measured.medians(0), measured.medians(1)
    speed_a, speed_b = measured.speeds(0, table), measured.speeds(1, table)
    reference_a, reference_b = (run.reference_now_ms for run in measured.runs)
    predicted = np.array([table.predict_ms(a) for a in measured.archs])
    normalized = predicted * speed_a
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "samples": len(measured.archs),
        "seed": measured.seed, "protocol": {"rounds": measured.rounds, "warmup_rounds": measured.warmup_rounds},
        "method": table.method, "measured_on": measured.runs[0].measurements["subnet000"].device,
        "reference_ms": {"table": table.reference_ms, "run_a": reference_a, "run_b": reference_b},
        "speed_now_median": {"run_a": float(np.median(speed_a)), "run_b": float(np.median(speed_b))},
        "raw": agreement(predicted, measured_a),
        "normalized": agreement(normalized, measured_a),
        "second_measurement": agreement(measured_b * speed_a / speed_b, measured_a),
        "points": [{"ops": list(a.ops), "predicted_ms": float(p), "normalized_ms": float(n),
                    "measured_ms": float(m), "measured_again_ms": float(m2)}
                   for a, p, n, m, m2 in zip(measured.archs, predicted, normalized, measured_a, measured_b)],
    }


def validate_table(table: LatencyTable, samples: int = VALIDATION_SAMPLES, seed: int = 1, rounds: int = ROUNDS,
                   warmup_rounds: int = WARMUP_ROUNDS) -> dict:
    """Measure `samples` fresh subnets twice and compare them with the table; returns the report."""
    return fidelity_report(table, measure_twice(table, fresh_archs(table, samples, seed), seed, rounds, warmup_rounds))


def validate_table_file(path: str | Path, samples: int = VALIDATION_SAMPLES, seed: int = 1,
                        rounds: int = ROUNDS) -> dict:
    """`hwnas validate-table`: measure the table at `path` against fresh subnets, write the report into
    it ("fidelity") and the scatter plot beside it (PATH.fidelity.png); returns the report."""
    if samples < 3:  # Kendall's τ and a spread need a few points
        raise HwnasError(f"--samples must be at least 3 ({VALIDATION_SAMPLES} is the fidelity report's standard), "
                         f"got {samples}")
    if rounds < 1:
        raise HwnasError(f"--rounds must be at least 1, got {rounds}")
    table = load_table(path)
    plot = Path(path).with_suffix(".fidelity.png")
    check_writable(path)  # the report goes into the table,
    check_writable(plot)  # the scatter plot beside it
    elsewhere = differences_from_here(table.device)
    if elsewhere:  # its fresh subnets would be timed here and the report written into another device's table
        raise HwnasError(f"{path} was measured on another device ({'; '.join(elsewhere)}): validate it there, "
                         f"or onboard this machine first (hwnas onboard --from {path} --out "
                         f"latency_tables/local/{Path(path).name}) and validate that")
    report = validate_table(table, samples, seed, rounds)
    table.fidelity = report
    save_table(table, path)
    plot_fidelity(report, f"{Path(path).name}: {report['samples']} fresh subnets", plot)
    log.info(f"{report['samples']} fresh subnets, {report['method']}")
    for name in ("raw", "normalized", "second_measurement"):
        r = report[name]
        log.info(f"  {name:19s} mean |err| {r['mean_abs_error_pct']:5.1f}%  max {r['max_abs_error_pct']:5.1f}%  "
                 f"within ±5% {r['within_5_pct']:4.0%}  ±10% {r['within_10_pct']:4.0%}  Kendall τ "
                 f"{r['kendall_tau']:.3f}")
    log.info(f"saved the report in {path} (\"fidelity\") and the scatter plot in {plot}")
    return report


def plot_fidelity(report: dict, title: str, path: str | Path) -> None:
    """Scatter of predicted (normalized) vs measured latency with the identity line and ±10% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report["points"]
    measured = np.array([p["measured_ms"] for p in points])
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.scatter(measured, [p["predicted_ms"] for p in points], s=18, alpha=0.5, label="raw prediction")
    axes.scatter(measured, [p["normalized_ms"] for p in points], s=18, label="normalized by the table's subnets")
    line = np.linspace(measured.min() * 0.9, measured.max() * 1.1, 2)
    axes.plot(line, line, "k-", linewidth=1, label="identity")
    axes.fill_between(line, line * 0.9, line * 1.1, color="gray", alpha=0.15, label="±10%")
    n, s = report["normalized"], report["second_measurement"]
    axes.set_title(f"{title}\nnormalized: {n['within_10_pct']:.0%} within ±10%, τ {n['kendall_tau']:.2f} "
                   f"(second run τ {s['kendall_tau']:.2f})", fontsize=9)
    axes.set_xlabel("measured latency (ms, ONNX Runtime)")
    axes.set_ylabel("predicted latency (ms, table)")
    axes.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, path, dpi=110)
    plt.close(figure)
