"""The checks a search or a retrain runs before any training, shared by both.

Each module registers a callback derived from `ChecksAtSetup` itself (`configure_callbacks`), so
a plain `Trainer.fit` checks what `hwnas search` / `hwnas retrain` do: at `setup`, the module's own
`check_ready(datamodule, max_epochs)`, which uses the shared checks below. The command line runs
the same checks before it touches the run folder (training/stage_cli.py).
"""

from __future__ import annotations

import pytorch_lightning as pl

from hwnas.errors import HwnasError


def check_classes(space, datamodule) -> None:
    """A dataset whose classes the network cannot output ended in an IndexError inside the loss, or
    trained a 10-way head on one class."""
    if datamodule is None:  # plain dataloaders: nothing to ask
        return
    if datamodule.num_classes != space.num_classes:
        raise HwnasError(f"the dataset has {datamodule.num_classes} classes, the space {space.name} has num_classes "
                         f"{space.num_classes}: make them agree (a space file's num_classes, or the dataset's folders)")


def check_epochs(max_epochs: int | None) -> None:
    """None or -1: bounded by max_steps or max_time instead, which is valid; Lightning accepts 0."""
    if max_epochs == 0:
        raise HwnasError("--trainer.max_epochs must be at least 1 (or -1: no limit), got 0")


class ChecksAtSetup(pl.Callback):
    def setup(self, trainer: pl.Trainer, module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            module.check_ready(trainer.datamodule, trainer.max_epochs)
