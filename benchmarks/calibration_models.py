"""Which calibration terms pay: each model fitted on a table's calibration subnets, scored on
the fresh subnets its fidelity report measured (no timing; reads the committed data).

    .venv/bin/python benchmarks/calibration_models.py latency_tables/proxyless_cifar-cpu.json

Prints a Markdown table: per model, the mean |error| % against the first measurement and
Kendall τ, next to the noise floor (τ between the two measurements). The table's own model
is "all four" (hwnas/latency/calibration.py).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import kendalltau

from hwnas.latency.table import arch_keys, arch_weight_mb, load_table
from hwnas.net.arch import Arch

MODELS = {  # name → which of (sum_ms, n_ops, weight_mb) enter, plus a constant
    "scale + offset": (True, False, False),
    "+ per op": (True, True, False),
    "+ weight MB (no per op)": (True, False, True),
    "all four": (True, True, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table")
    path = parser.parse_args().table
    table = load_table(path)
    if table.calibration is None or table.fidelity is None:
        raise SystemExit(f"{path}: needs a calibration and a fidelity report (`make bench`)")

    def features(ops: tuple[str, ...]) -> np.ndarray:
        arch = Arch(table.space, ops)
        return np.array([table.sum_ms(arch), len(arch_keys(arch)), arch_weight_mb(arch)])

    def design(rows: np.ndarray, used: tuple[bool, ...]) -> np.ndarray:
        return np.column_stack([rows[:, list(used)], np.ones(len(rows))])

    points, fresh = table.calibration.points, table.fidelity["points"]
    fitted = np.array([[p.sum_ms, p.n_ops, p.weight_mb] for p in points])  # as the table stored them
    fitted_ms = np.array([p.measured_ms for p in points])
    checked = np.array([features(tuple(p["ops"])) for p in fresh])
    measured = np.array([p["measured_ms"] for p in fresh])
    noise_floor = kendalltau(measured, [p["measured_again_ms"] for p in fresh]).statistic
    print(f"| model ({len(points)} calibration subnets → {len(fresh)} fresh) | mean abs error | Kendall τ |\n|---|---|---|")
    for name, used in MODELS.items():
        coefficients, *_ = np.linalg.lstsq(design(fitted, used), fitted_ms, rcond=None)
        predicted = design(checked, used) @ coefficients
        error = np.mean(np.abs(predicted - measured) / measured) * 100
        print(f"| {name} | {error:.2f}% | {kendalltau(predicted, measured).statistic:.3f} |")
    print(f"| second measurement (noise floor) | | {noise_floor:.3f} |")


if __name__ == "__main__":
    main()
