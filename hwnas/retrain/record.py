"""What a retrain leaves in its run folder, written by the library (a callback the module registers):

    RUN/arch.json     the input record, provenance kept (the record travels on, unchanged)
    RUN/subnet.pt     the trained weights, a state dict: loads with weights_only=True
    RUN/retrain.json  RetrainSummary: test accuracy and where the run came from, written after `trainer.test`

An interrupted fit writes none of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch

from hwnas.files.atomic import atomic_output, write_json
from hwnas.files.numbers import fraction
from hwnas.files.strict import read_record
from hwnas.records.run_folder import RunFolder
from hwnas.training.checks import ChecksAtSetup

log = logging.getLogger(__name__)
FORMAT, VERSION = "hwnas.retrain", 2


@dataclass(frozen=True)
class RetrainSummary:
    """retrain.json. Version 1 (7c7bfa7: no format key) still loads."""
    test_accuracy: float  # in [0, 1], on the data module's test split, evaluated once after training
    dataset: str  # the data module's class name
    retrained_from: str  # the arch.json the retrain was given, absolute
    arch: str = "arch.json"  # file names inside the run folder
    weights: str = "subnet.pt"

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "test_accuracy": self.test_accuracy, "dataset": self.dataset,
                "retrained_from": self.retrained_from, "arch": self.arch, "weights": self.weights}

    @classmethod
    def load(cls, path: str | Path) -> RetrainSummary:
        """One line naming the file when it is not a retrain summary (checked before any export work)."""
        with read_record(path, FORMAT, (1, VERSION), "retrain summary", "no retrain.json: point --run at a folder "
                         "written by `hwnas retrain`", "retrain again into this folder") as data:
            return cls(fraction(data["test_accuracy"], "test_accuracy"), str(data["dataset"]),
                       str(data["retrained_from"]), str(data["arch"]), str(data["weights"]))


class RetrainRecord(ChecksAtSetup):
    def on_fit_end(self, trainer: pl.Trainer, retrain: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        run = RunFolder(Path(trainer.default_root_dir))
        retrain.arch_record.save(run.arch)
        with atomic_output(run.weights) as temporary:
            torch.save(retrain.net.state_dict(), temporary)  # tensors only: loads with weights_only=True

    def on_test_end(self, trainer: pl.Trainer, retrain: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        run = RunFolder(Path(trainer.default_root_dir))
        summary = RetrainSummary(float(trainer.callback_metrics["test/acc"]), type(trainer.datamodule).__name__,
                                 str(Path(retrain.hparams.arch).resolve()), run.arch.name, run.weights.name)
        write_json(run.retrain_summary, summary.to_json())
        log.info(f"test accuracy {summary.test_accuracy:.4f}; wrote {run.weights} and {run.retrain_summary}")
