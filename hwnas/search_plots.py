"""A Lightning callback that redraws the search's figures after every training epoch:

    RUN/search/plots/alphas.png    per layer, candidate probabilities over the epochs (heatmaps)
    RUN/search/plots/latency.png   expected latency per epoch vs the target, feasible range shaded

Add it to a search recipe (recipes/search_demo.yaml does)::

    trainer:
      callbacks:
        - class_path: hwnas.search_plots.SearchPlots

The history it draws is kept in its state, which Lightning stores in the checkpoint, so a
resumed run continues the same curves. Only rank 0 writes. Cost: ~0.2 s per epoch on the
demo space (two small PNGs at 100 dpi).
"""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch

from hwnas.plots import plot_alphas, plot_latency


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
        self.derived_ms.append(module.table.predict_ms(supernet.derive()))
        if not trainer.is_global_zero:
            return
        folder = Path(self.dirpath or Path(trainer.default_root_dir) / "plots")
        layers = module.space.layers()
        titles = [f"L{layer.index}\n{layer.shape.in_channels}→{layer.shape.out_channels} s{layer.shape.stride}"
                  for layer in layers]  # channels in→out, stride
        plot_alphas(folder / "alphas.png", self.epochs, self.probabilities, titles,
                    [layer.candidates for layer in layers])
        plot_latency(folder / "latency.png", self.epochs, self.expected_ms, self.derived_ms,
                     module.hparams.target_ms, module.table.latency_range_ms())

    def state_dict(self) -> dict:
        return {"epochs": self.epochs, "probabilities": self.probabilities,
                "expected_ms": self.expected_ms, "derived_ms": self.derived_ms}

    def load_state_dict(self, state_dict: dict) -> None:
        for name, values in state_dict.items():
            setattr(self, name, list(values))
