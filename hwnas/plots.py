"""PNG figures of a search: alpha probabilities and expected latency per epoch (written during
the search by search_plots.py), and accuracy against latency of the archs `hwnas select` scored.

Figures are built with matplotlib's object API (`Figure`, Agg canvas): no pyplot, no display,
no global backend state. Each file is written atomically.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hwnas.atomic import atomic_output
from hwnas.evolution import Evaluated, best, pareto_front

DPI = 100


def _save(figure: Figure, path: str | Path) -> None:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=DPI)


def plot_alphas(path: str | Path, epochs: list[int], probabilities: list[list[list[float]]],
                layer_names: list[str], op_names: list[tuple[str, ...]]) -> None:
    """One heatmap of every layer's candidate probabilities over the epochs.

    probabilities[e][l][j] is p_j of layer l (candidates op_names[l]) after epoch epochs[e].
    Rows: every op name of the space; columns: one block per layer (labelled layer_names[l]),
    inside it one column per epoch, left to right. Grey cells: the op is not a candidate of
    that layer. A red dot marks each layer's most probable op at the last epoch.

    Tried first: a row per (layer, op) or a subplot per layer; both need a text label per row,
    and matplotlib's text rendering made them cost 0.3-0.8 s per epoch on the demo space.
    This layout has ~20 labels whatever the number of layers (~0.1 s).
    """
    ops = list(dict.fromkeys(op for names in op_names for op in names))  # every op, first-seen order
    n_epochs, gap = len(epochs), 1  # one blank column between layer blocks
    width = len(op_names) * (n_epochs + gap) - gap
    grid = np.full((len(ops), width), np.nan)  # (ops, columns); NaN: not a candidate there
    best = []  # (column, row) of each layer's most probable op at the last epoch
    for layer, names in enumerate(op_names):
        start = layer * (n_epochs + gap)
        for j, op in enumerate(names):
            grid[ops.index(op), start:start + n_epochs] = [epoch[layer][j] for epoch in probabilities]
        last = probabilities[-1][layer]
        best.append((start + n_epochs - 1, ops.index(names[last.index(max(last))])))

    size = (min(max(6.4, 2.4 + 0.12 * width), 16), 1.5 + 0.3 * len(ops))  # inches: margins + cells
    figure = Figure(figsize=size)
    ax = figure.add_subplot()
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.85")
    # colour scale 0 → the largest p drawn: on the demo the alphas move slowly (p ≤ 0.3 after 20
    # epochs of 7 candidates) and a fixed 0 → 1 scale showed them all as the same dark blue
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", vmin=0.0, vmax=float(np.nanmax(grid)),
                      cmap=cmap, interpolation="nearest")
    ax.plot(*zip(*best), "o", color="red", markersize=3)
    ax.set_yticks(range(len(ops)), ops, fontsize=8)
    ax.set_xticks([layer * (n_epochs + gap) + (n_epochs - 1) / 2 for layer in range(len(op_names))],
                  layer_names, fontsize=7)
    ax.set_xlabel(f"searchable layers; inside each block, epochs {epochs[0]}-{epochs[-1]} left to right", fontsize=8)
    ax.set_title("candidate probabilities per layer (red dot: most probable, last epoch)", fontsize=9)
    # margins in inches (op names left, colour bar right, two-line layer labels below)
    figure.subplots_adjust(left=1.0 / size[0], right=1 - 1.0 / size[0], bottom=0.85 / size[1], top=1 - 0.4 / size[1])
    figure.colorbar(image, cax=figure.add_axes((1 - 0.85 / size[0], 0.85 / size[1], 0.12 / size[0],
                                                1 - 1.25 / size[1])), label="p = softmax(α)")
    _save(figure, path)


def plot_latency(path: str | Path, epochs: list[int], expected_ms: list[float], derived_ms: list[float],
                 target_ms: float, range_ms: tuple[float, float]) -> None:
    """Expected latency E[lat] and the derived (argmax) arch's prediction per epoch, in ms,
    against the target; the table's feasible range (fastest-slowest arch) shaded."""
    figure = Figure(figsize=(6.4, 4.0))
    ax = figure.add_subplot()
    ax.axhspan(*range_ms, color="tab:green", alpha=0.12, label=f"space: {range_ms[0]:.3f}-{range_ms[1]:.3f} ms")
    ax.axhline(target_ms, color="tab:red", linestyle="--", label=f"target {target_ms:.4g} ms")
    ax.plot(epochs, expected_ms, marker="o", markersize=3, label="expected latency E[lat]")
    ax.plot(epochs, derived_ms, marker="s", markersize=3, linestyle=":", label="derived (argmax) arch")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("latency (ms, table)")
    ax.set_title("latency during the search")
    ax.legend(fontsize=8)
    _save(figure, path)


def plot_pareto(path: str | Path, results: dict[str, list[Evaluated]], chosen: Evaluated, target_ms: float,
                range_ms: tuple[float, float]) -> None:
    """Accuracy against predicted latency of every scored arch, one colour per method, the
    Pareto front of them all as a step line, the target as a vertical line, the chosen arch a star.
    The x axis runs from the space's fastest arch (range_ms[0]) to just past the target: nothing
    slower was scored, and the full range squeezed the points into a corner."""
    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = figure.subplots()
    for method, evaluated in results.items():
        ax.scatter([e.latency_ms for e in evaluated], [e.score for e in evaluated], s=14, alpha=0.5,
                   label=f"{method} ({len(evaluated)} scored, best {best(evaluated).score:.3f})")
    front = pareto_front([e for evaluated in results.values() for e in evaluated])
    ax.step([e.latency_ms for e in front], [e.score for e in front], where="post", color="black", linewidth=1,
            marker="o", markersize=4, label="Pareto front")
    ax.axvline(target_ms, color="tab:red", linestyle="--", label=f"target {target_ms:.4g} ms")
    pad = 0.06 * (target_ms - range_ms[0]) or 0.01 * target_ms  # ms; x spans the fastest arch to the target
    ax.axvspan(target_ms, target_ms + pad, color="gray", alpha=0.15, label="over budget (not scored)")
    ax.scatter([chosen.latency_ms], [chosen.score], marker="*", s=220, color="gold", edgecolor="black", zorder=5,
               label=f"chosen: {chosen.score:.3f} at {chosen.latency_ms:.3f} ms")
    ax.set_xlim(range_ms[0] - pad, target_ms + pad)
    ax.set_xlabel("predicted latency (ms, table)")
    ax.set_ylabel("accuracy (arch split, BN recalibrated)")
    ax.set_title("subnets of the supernet under the latency budget")
    ax.legend(fontsize=7, loc="best")
    _save(figure, path)
