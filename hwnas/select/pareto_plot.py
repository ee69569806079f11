"""The figure `hwnas select` draws: score against predicted latency of every arch it scored."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hwnas.files.atomic import save_figure
from hwnas.select.evolution import Evaluated, best, pareto_front


def plot_pareto(path: str | Path, results: dict[str, list[Evaluated]], chosen: Evaluated, target_ms: float,
                range_ms: tuple[float, float]) -> None:
    """Score (− arch-split cross-entropy) against predicted latency of every scored arch, one colour
    per method, the Pareto front of them all as a step line, the target as a vertical line, the chosen arch a star.
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
    ax.set_ylabel("score: − cross-entropy (arch split, BN recalibrated)")
    ax.set_title("subnets of the supernet under the latency budget")
    ax.legend(fontsize=7, loc="best")
    save_figure(figure, path)
