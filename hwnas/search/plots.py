"""A Lightning callback that redraws the search's figures after every training epoch:

    RUN/search/plots/alphas.png    per layer, candidate probabilities over the epochs (heatmaps)
    RUN/search/plots/latency.png   expected latency per epoch vs the target, feasible range shaded

Add it to a search recipe (recipes/search_demo.yaml does)::

    trainer:
      callbacks:
        - class_path: hwnas.search.plots.SearchPlots

The history it draws is kept in its state, which Lightning stores in the checkpoint, so a
resumed run continues the same curves. Only rank 0 writes. Figures are built with matplotlib's
object API (`Figure`, Agg canvas): no pyplot, no display, no global backend state.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hwnas.files.atomic import save_figure


class SearchPlots(pl.Callback):
    def __init__(self, dirpath: str | None = None):
        """dirpath: where the PNGs go; default `plots/` in the trainer's root (the run folder)."""
        self.dirpath = dirpath
        self.epochs: list[int] = []
        self.probabilities: list[list[list[float]]] = []  # [epoch][layer][candidate]
        self.expected_ms: list[float] = []  # E[lat] after each epoch, ms
        self.derived_ms: list[float] = []  # the argmax arch's table prediction after each epoch, ms

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        supernet = module.supernet
        with torch.no_grad():
            probabilities = supernet.probabilities()
            self.expected_ms.append(float(module.expected_latency(probabilities)))
        self.epochs.append(trainer.current_epoch)
        self.probabilities.append([p.tolist() for p in probabilities])
        self.derived_ms.append(module.table.predict_ms(supernet.argmax_arch()))
        if not trainer.is_global_zero:
            return
        folder = Path(self.dirpath or Path(trainer.default_root_dir) / "plots")
        layers = module.space.layers()
        titles = [f"L{layer.index}\n{layer.shape.in_channels}→{layer.shape.out_channels} s{layer.shape.stride}"
                  for layer in layers]  # channels in→out, stride
        plot_alphas(folder / "alphas.png", self.epochs, self.probabilities, titles,
                    [layer.candidates for layer in layers])
        plot_latency(folder / "latency.png", self.epochs, self.expected_ms, self.derived_ms,
                     module.settings.target_ms, module.table.latency_range_ms())

    def state_dict(self) -> dict:
        return {"epochs": self.epochs, "probabilities": self.probabilities,
                "expected_ms": self.expected_ms, "derived_ms": self.derived_ms}

    def load_state_dict(self, state_dict: dict) -> None:
        for name, values in state_dict.items():
            setattr(self, name, list(values))


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
    save_figure(figure, path)


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
    save_figure(figure, path)
