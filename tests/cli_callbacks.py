"""Callbacks that tests hand to `hwnas search` by name (`--trainer.callbacks+=cli_callbacks.X`),
so that they also load in the processes DDP launches; tests/ is on their PYTHONPATH."""

from __future__ import annotations

import torch
from pytorch_lightning.callbacks import Callback


class SaveRankState(Callback):
    """Every rank saves its alphas, REINFORCE baseline and arch-step counts to FOLDER/rank{R}.pt."""

    def __init__(self, folder: str):
        self.folder = folder

    def on_train_end(self, trainer, pl_module):
        alphas = pl_module.supernet.arch_parameters()
        arch_opt = trainer.optimizers[1]
        torch.save({
            "alphas": [a.detach().clone() for a in alphas],
            "baseline": getattr(pl_module.algorithm, "baseline", None) and pl_module.algorithm.baseline.value.clone(),
            "arch_steps": [int(arch_opt.state[a]["step"]) for a in alphas],
            "alphas_in_ddp": all(any(a is p for p in trainer.model.parameters()) for a in alphas),
            "ddp_finds_unused": getattr(trainer.model, "find_unused_parameters", False),
        }, f"{self.folder}/rank{trainer.global_rank}.pt")


class StopAfterEpochs(Callback):
    """Interrupts a run after `epochs` epochs, as a killed job would be after its last checkpoint."""

    def __init__(self, epochs: int):
        self.epochs = epochs

    def on_train_epoch_end(self, trainer, pl_module):
        if trainer.current_epoch + 1 >= self.epochs:
            trainer.should_stop = True


class SaveCallbackNames(Callback):
    """Writes the class names of the trainer's callbacks to PATH, one a line, when training starts."""

    def __init__(self, path: str):
        self.path = path

    def on_train_start(self, trainer, pl_module):
        with open(self.path, "w") as names:
            names.write("\n".join(type(callback).__name__ for callback in trainer.callbacks))
