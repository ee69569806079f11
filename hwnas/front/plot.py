"""The figure `hwnas front` draws: every device's front and its chosen archs."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hwnas.files.atomic import save_figure


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
    ax.set_ylabel("score: − cross-entropy (arch split, BN recalibrated)")
    ax.set_title("one supernet, several devices")
    ax.legend(fontsize=7)
    save_figure(figure, path)
