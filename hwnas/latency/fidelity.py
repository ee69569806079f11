"""How well a table predicts what the deployed network costs: `hwnas validate-table`.

Fresh random subnets (none of the calibration set, not the reference) are exported as the
final model is, and timed whole in two independent interleaved runs, A and B, each with the
reference subnet in its rounds. Reported, for the table's prediction against run A:

- raw:         predicted_ms vs measured_A;
- normalized:  predicted_ms · (reference_A / reference_table) vs measured_A, i.e. the
               prediction rescaled to the machine's speed state during run A;

and, as the noise floor the prediction cannot beat, a second measurement against the first:
measured_B · (reference_A / reference_B) vs measured_A, with Kendall τ(A, B). Each gives the
mean and max |error| in %, the share within ±5% and ±10%, and Kendall τ.
"""

from __future__ import annotations

import random
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from hwnas.arch import Arch, build_subnet, random_arch
from hwnas.atomic import atomic_output
from hwnas.errors import HwnasError
from hwnas.latency.kit import VALIDATION_SAMPLES
from hwnas.latency.kit_runner import ROUNDS, WARMUP_ROUNDS
from hwnas.latency.table import LatencyTable
from hwnas.latency.timing import Progress, time_interleaved
from hwnas.onnx_export import export_onnx

REFERENCE = "reference"


def fresh_archs(table: LatencyTable, count: int, seed: int) -> list[Arch]:
    """`count` distinct random subnets that neither calibrated the table nor are its reference."""
    used = {table.reference_ops} | {p.ops for p in (table.calibration.points if table.calibration else ())}
    rng, chosen = random.Random(seed), {}
    for _ in range(100 * count):  # a small space may not hold `count` fresh subnets
        arch = random_arch(table.space, rng)
        if arch.ops not in used:
            chosen.setdefault(arch.ops, arch)
        if len(chosen) == count:
            break
    return list(chosen.values())


def agreement(predicted: np.ndarray, measured: np.ndarray) -> dict:
    """Errors of `predicted` against `measured` (both ms): mean/max |%|, share within ±5/±10%, τ."""
    error_pct = np.abs(predicted - measured) / measured * 100
    return {"mean_abs_error_pct": float(error_pct.mean()), "max_abs_error_pct": float(error_pct.max()),
            "within_5_pct": float((error_pct <= 5).mean()), "within_10_pct": float((error_pct <= 10).mean()),
            "kendall_tau": float(kendalltau(predicted, measured).statistic)}


def validate_table(table: LatencyTable, samples: int = VALIDATION_SAMPLES, seed: int = 1, rounds: int = ROUNDS,
                   warmup_rounds: int = WARMUP_ROUNDS, log=print) -> dict:
    """Measure `samples` fresh subnets twice and compare them with the table; returns the report."""
    archs = fresh_archs(table, samples, seed)
    if len(archs) < 3:
        raise HwnasError(f"space {table.space.name} holds only {len(archs)} subnets outside the table's "
                         f"{len(table.calibration.points) if table.calibration else 0} calibration subnets, too few "
                         f"to validate: the calibration already measured nearly every arch of it (see its fit error)")
    device, threads = table.device["kind"], table.device["threads"]
    space = table.space
    with tempfile.TemporaryDirectory(prefix="hwnas-validate-") as folder:
        paths = {}
        torch.manual_seed(seed)
        models = [(REFERENCE, table.reference_arch()), *((f"subnet{i:03d}", a) for i, a in enumerate(archs))]
        progress = Progress("exporting subnet", len(models), log)
        for done, (name, arch) in enumerate(models, 1):
            example = torch.randn(1, space.in_channels, space.resolution, space.resolution)
            paths[name] = str(export_onnx(build_subnet(arch), example, Path(folder) / f"{name}.onnx"))
            progress(done)
        log(f"exported {len(archs)} fresh subnets and the reference; timing two independent runs")
        runs = [time_interleaved(paths, device=device, threads=threads, rounds=rounds, warmup_rounds=warmup_rounds,
                                 seed=seed + run, log=lambda line, run=run: log(f"run {'AB'[run]}: {line}"))
                for run in (0, 1)]
    names = [f"subnet{i:03d}" for i in range(len(archs))]
    measured_a, measured_b = (np.array([run[n]["median_ms"] for n in names]) for run in runs)
    reference_a, reference_b = (run[REFERENCE]["median_ms"] for run in runs)
    predicted = np.array([table.predict_ms(a) for a in archs])
    normalized = predicted * table.rescale_factor(reference_a)
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "samples": len(archs), "seed": seed,
        "protocol": {"rounds": rounds, "warmup_rounds": warmup_rounds}, "method": table.method,
        "reference_ms": {"table": table.reference_ms, "run_a": reference_a, "run_b": reference_b},
        "raw": agreement(predicted, measured_a),
        "normalized": agreement(normalized, measured_a),
        "second_measurement": agreement(measured_b * reference_a / reference_b, measured_a),
        "points": [{"ops": list(a.ops), "predicted_ms": float(p), "normalized_ms": float(n),
                    "measured_ms": float(m), "measured_again_ms": float(m2)}
                   for a, p, n, m, m2 in zip(archs, predicted, normalized, measured_a, measured_b)],
    }


def plot_fidelity(report: dict, title: str, path: str | Path) -> None:
    """Scatter of predicted (normalized) vs measured latency with the identity line and ±10% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = report["points"]
    measured = np.array([p["measured_ms"] for p in points])
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.scatter(measured, [p["predicted_ms"] for p in points], s=18, alpha=0.5, label="raw prediction")
    axes.scatter(measured, [p["normalized_ms"] for p in points], s=18, label="normalized by the reference")
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
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)
