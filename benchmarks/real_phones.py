"""Real phones from published measurements: onboard a phone from another device's table and K measured archs.

A phone's file gives the whole-model latency (ms, measured end to end there) of each arch of an archs
file (HELP's 5,000 FBNet archs). The first --fit archs are the ones a user could have measured: the K
onboarding archs are chosen among them, and the ceiling is fitted on all of them; the rest are held out,
and every figure is on them: Spearman ρ, Kendall τ, and the share predicted within ±10%.

    table as is          the source table's prediction (another device: its ranking, its scale)
    rescale only         × one factor, least squares through 0 on the K archs
    onboarded            hwnas onboard --measured: the source's entries, the calibration fitted on the
                         K archs (written as a kit's results.json and read back by the library)
    fitted from K alone  an additive table (one cost per layer and op) from the K archs only: ridge
                         least squares, its λ chosen by leave-one-out on the K archs
    ceiling              the best additive table: least squares on all --fit archs

The K archs are chosen by the product's design (latency/calibration_design.py); for K = 20 the onboarding
is also scored with the K archs at quantiles of the source's prediction and at random (median of 20
draws), with two richer calibrations than the product's (per-resolution scales; a MAC term), and, over
--pools random halves of the fit archs to choose from, the median and the worst of the onboarding and of
the MAC term. Any phone's file of the same format can be passed; other phones are held back.

    .venv/bin/python benchmarks/real_phones.py --archs ../shared/data/real-devices/fbnet_cifar100_archs.json \\
        --measured ../shared/data/real-devices/fbnet_cifar100_measured_pixel2.json \\
        --table latency_tables/fbnet_cifar100-pixel3.json      (repeat --measured / --table; ~1 min each pair)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from hwnas.latency.calibration_design import design_features, spread_subnets
from hwnas.latency.table import LatencyTable, load_table
from hwnas.net.arch import Arch
from hwnas.net.macs import layer_macs
from hwnas.profile.kit_runner import RESULTS_FORMAT, RESULTS_VERSION
from hwnas.profile.onboard import OnboardError, onboard_from_measurements
from hwnas.profile.published import hwnas_op_name

KS = (5, 10, 20)
RIDGE_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)  # λ for the table fitted from K archs alone, × K
RANDOM_DRAWS = 20


def scores(predicted: np.ndarray, measured: np.ndarray) -> dict:
    return {"spearman": float(spearmanr(predicted, measured)[0]), "kendall": float(kendalltau(predicted, measured)[0]),
            "within_10_pct": float(np.mean(np.abs(predicted / measured - 1) <= 0.1) * 100)}


def read_archs(path: str, table: LatencyTable) -> list[Arch]:
    """The archs file's op indices as archs of the table's space (op names decoded by hwnas_op_name)."""
    data = json.loads(Path(path).read_text())
    names = [hwnas_op_name(name) for name in data["op_names"]]
    return [Arch(table.space, tuple(names[i] for i in arch)) for arch in data["archs"]]


def measured_results(archs: list[Arch], ms: np.ndarray, label: str) -> dict:
    """K archs and their measured latency as a kit's results.json (what `hwnas onboard --measured` reads)."""
    space = archs[0].space
    names = [f"subnet{i:03d}" for i in range(1, len(archs) + 1)]
    return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION,
            "manifest": {"space": {"name": space.name, "fingerprint": space.fingerprint(),
                                   "definition": space.to_dict()},
                         "models": {name: {"kind": "subnet", "ops": list(arch.ops)} for name, arch in zip(names, archs)}},
            "device": {"kind": "mobile", "threads": 1, "device_label": label, "source": "measured end to end (published)"},
            "protocol": {"published": "whole-model latency, integer ms"},
            "stats": {name: {"median_ms": float(v), "p25_ms": float(v), "p75_ms": float(v)} for name, v in zip(names, ms)}}


def one_hot(archs: list[Arch]) -> np.ndarray:
    """(archs, layers·ops + 1): which op each layer holds, and a 1 for the fixed parts."""
    columns = {(layer.index, op): j for j, (layer, op) in enumerate(
        (layer, op) for layer in archs[0].space.layers() for op in layer.candidates)}
    x = np.zeros((len(archs), len(columns) + 1))
    for row, arch in enumerate(archs):
        x[row, [columns[(i, op)] for i, op in enumerate(arch.ops)]] = 1
    x[:, -1] = 1
    return x


def ridge_loo(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ridge least squares (the intercept column unpenalised), λ of RIDGE_GRID by leave-one-out error."""
    best = None
    for lam in RIDGE_GRID:
        penalty = lam * len(y) * np.eye(x.shape[1])
        penalty[-1, -1] = 1e-9
        hat = x @ np.linalg.solve(x.T @ x + penalty, x.T)
        loo = np.mean(((y - hat @ y) / (1 - np.diag(hat))) ** 2)
        if best is None or loo < best[0]:
            best = (loo, np.linalg.solve(x.T @ x + penalty, x.T @ y))
    return best[1]


def onboarded(source: LatencyTable, archs: list[Arch], ms: np.ndarray, label: str, held: list[Arch]) -> np.ndarray | str:
    """hwnas's onboarding on these measured archs, predicting `held`; the refusal's words if it refuses."""
    try:
        table = onboard_from_measurements(source, measured_results(archs, ms, label), f"{label}: {len(archs)} archs")
    except OnboardError as refused:
        return f"refused ({str(refused).split(':')[0]})"
    return np.array([table.predict_ms(arch) for arch in held])


def richer(source: LatencyTable, pool: list[Arch], y: np.ndarray, chosen: list[int], held: list[Arch]) -> dict:
    """Two calibrations with more than the product's 4 terms, fitted on the chosen archs."""
    resolutions = sorted({layer.shape.resolution for layer in source.space.layers()})

    def columns(archs: list[Arch]) -> dict[str, np.ndarray]:
        base = design_features(source, archs)  # sum, n_ops, weight MB, 1
        per_resolution = np.array([[sum(source.op_cost_ms(op, layer.shape, calibrated=False)
                                        for layer, op in zip(source.space.layers(), arch.ops)
                                        if layer.shape.resolution == r) for r in resolutions] for arch in archs])
        macs = np.array([sum(layer_macs(op, layer.shape) for layer, op in zip(source.space.layers(), arch.ops))
                         for arch in archs]) / 1e6
        return {"per-resolution scales + per op + offset": np.c_[per_resolution, base[:, 1], base[:, 3]],
                "4 terms + per MMAC": np.c_[base, macs]}
    fit, test = columns([pool[i] for i in chosen]), columns(held)
    return {name: test[name] @ np.linalg.lstsq(fit[name], y[chosen], rcond=None)[0] for name in fit}


def over_pools(source: LatencyTable, pool: list[Arch], y_fit: np.ndarray, held: list[Arch], y_held: np.ndarray,
               label: str, pools: int) -> dict:
    """K = max(KS) designed from `pools` random halves of the fit archs: the median and the worst of the
    onboarding's and the MAC term's scores (how much the figure rests on which archs could be measured)."""
    runs: dict[str, list[dict]] = {"onboarded": [], "4 terms + per MMAC": []}
    for seed in range(pools):
        half = np.sort(np.random.default_rng(seed).choice(len(pool), len(pool) // 2, replace=False))
        chosen = [int(half[i]) for i in _design(source, [pool[i] for i in half], max(KS))]
        result = onboarded(source, [pool[i] for i in chosen], y_fit[chosen], label, held)
        if not isinstance(result, str):
            runs["onboarded"].append(scores(result, y_held))
        runs["4 terms + per MMAC"].append(scores(richer(source, pool, y_fit, chosen, held)["4 terms + per MMAC"],
                                                 y_held))
    return {f"{name}, K={max(KS)}, {len(done)} pools: {how}": {key: float(pick([d[key] for d in done])) for key in done[0]}
            for name, done in runs.items() for how, pick in (("median", np.median), ("worst", np.min))}


def _design(source: LatencyTable, pool: list[Arch], k: int) -> list[int]:
    """Indices into `pool` of the product's choice of k archs to measure."""
    index = {arch.ops: i for i, arch in enumerate(pool)}
    return [index[arch.ops] for arch in spread_subnets(source, pool, k)]


def bench(archs_path: str, table_path: str, measured_path: str, fit: int, pools: int) -> dict:
    source = load_table(table_path)
    archs = read_archs(archs_path, source)
    phone = json.loads(Path(measured_path).read_text())
    label, y = str(phone.get("device", Path(measured_path).stem)), np.array(phone["latency_ms"], dtype=float)
    pool, held, y_fit, y_held = archs[:fit], archs[fit:], y[:fit], y[fit:]
    as_is = np.array([source.predict_ms(arch) for arch in held])
    x_pool, x_held = one_hot(pool), one_hot(held)
    rows = {"table as is": scores(as_is, y_held),
            "ceiling (additive, least squares on all fit archs)": scores(
                x_held @ np.linalg.lstsq(x_pool, y_fit, rcond=None)[0], y_held)}
    for k in KS:
        chosen = _design(source, pool, k)
        p = np.array([source.predict_ms(pool[i]) for i in chosen])
        rows[f"rescale only, K={k}"] = scores(as_is * (p @ y_fit[chosen]) / (p @ p), y_held)
        result = onboarded(source, [pool[i] for i in chosen], y_fit[chosen], label, held)
        rows[f"onboarded, K={k}"] = result if isinstance(result, str) else scores(result, y_held)
        rows[f"fitted from K alone, K={k}"] = scores(x_held @ ridge_loo(x_pool[chosen], y_fit[chosen]), y_held)
        if k == max(KS):
            rows.update({f"{name}, K={k}": scores(pred, y_held)
                         for name, pred in richer(source, pool, y_fit, chosen, held).items()})
    rows.update(other_choices(source, pool, y_fit, held, y_held, label))
    if pools:
        rows.update(over_pools(source, pool, y_fit, held, y_held, label, pools))
    return {"phone": label, "table": table_path, "fit_archs": fit, "held_out": len(held), "rows": rows}


def other_choices(source: LatencyTable, pool: list[Arch], y_fit: np.ndarray, held: list[Arch], y_held: np.ndarray,
                  label: str) -> dict:
    """The onboarding with K = max(KS) archs at quantiles of the source's prediction, and at random."""
    k, rows = max(KS), {}
    predicted = np.array([source.predict_ms(arch) for arch in pool])
    quantiles = np.argsort(predicted)[np.round(np.linspace(0, len(pool) - 1, k)).astype(int)]
    result = onboarded(source, [pool[i] for i in quantiles], y_fit[quantiles], label, held)
    rows[f"onboarded, K={k} at quantiles of the prediction"] = result if isinstance(result, str) \
        else scores(result, y_held)
    draws = [onboarded(source, [pool[i] for i in chosen], y_fit[chosen], label, held) for chosen in
             (np.random.default_rng(seed).choice(len(pool), k, replace=False) for seed in range(RANDOM_DRAWS))]
    drawn = [scores(d, y_held) for d in draws if not isinstance(d, str)]
    rows[f"onboarded, K={k} at random (median of the {len(drawn)} of {RANDOM_DRAWS} draws a calibration fits)"] = \
        {name: float(np.median([d[name] for d in drawn])) for name in drawn[0]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", required=True, help="archs file: op_names and archs (op indices per layer)")
    parser.add_argument("--table", action="append", required=True, help="a source table of the archs' space")
    parser.add_argument("--measured", action="append", required=True, help="a phone's file: latency_ms per arch")
    parser.add_argument("--fit", type=int, default=4000, help="archs a user could have measured (the rest: held out)")
    parser.add_argument("--pools", type=int, default=20, help="random halves of the fit archs to design K=20 from")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    results = []
    for measured in args.measured:
        for table in args.table:
            result = bench(args.archs, table, measured, args.fit, args.pools)
            results.append(result)
            print(f"\n{result['phone']} from {Path(table).name} ({result['held_out']} held-out archs)\n")
            print("| | Spearman ρ | Kendall τ | within ±10% |\n|---|---|---|---|")
            for name, row in result["rows"].items():
                print(f"| {name} | {row} | | |" if isinstance(row, str) else
                      f"| {name} | {row['spearman']:.3f} | {row['kendall']:.3f} | {row['within_10_pct']:.1f}% |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
