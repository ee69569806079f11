"""A CSV logger whose metrics.csv survives a resume.

Lightning's CSV writer deletes RUN_DIR/logs/metrics.csv when it opens a folder that holds one,
so a search resumed with --ckpt_path kept only the epochs it ran itself. This logger reads the
earlier rows first and writes back those of the epochs the checkpoint holds (epoch ≤ the
checkpoint's), then appends as usual: one metrics.csv with every epoch, none twice.
"""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import torch
from pytorch_lightning.loggers import CSVLogger


class ResumedCSVLogger(CSVLogger):
    def __init__(self, *args, resumed_from: Path | None = None, **kwargs):
        """`resumed_from`: the checkpoint this run resumes from (None: a fresh run, nothing is kept,
        as with CSVLogger)."""
        super().__init__(*args, **kwargs)
        self.resumed_from = resumed_from

    @property
    def experiment(self):
        if self._experiment is not None or self.resumed_from is None:
            return super().experiment
        earlier, keys = _read_rows(Path(self.log_dir) / "metrics.csv")
        with warnings.catch_warnings():  # "Previous log files ... will be deleted": not these, kept below
            warnings.filterwarnings("ignore", message="Experiment logs directory")
            writer = super().experiment  # deletes metrics.csv (rank zero only)
        last_epoch = _epoch_of(self.resumed_from)
        kept = [row for row in earlier if row.get("epoch") and float(row["epoch"]) <= last_epoch]
        if kept and hasattr(writer, "metrics_file_path"):
            header = sorted(keys)  # the writer keeps its keys sorted; later rows append under this header
            with open(writer.metrics_file_path, "w", newline="") as file:
                rows = csv.DictWriter(file, fieldnames=header)
                rows.writeheader()
                rows.writerows(kept)
            writer.metrics_keys = header
        return writer


def _read_rows(path: Path) -> tuple[list[dict], list[str]]:
    if not path.is_file():
        return [], []
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return list(reader), list(reader.fieldnames or [])


def _epoch_of(checkpoint: Path) -> float:
    """The epoch a Lightning checkpoint was saved in (every epoch, when it cannot be read here:
    --ckpt_path best/hpc/registry name files Lightning finds itself)."""
    if not checkpoint.is_file():
        return math.inf
    return float(torch.load(checkpoint, map_location="cpu", weights_only=True).get("epoch", math.inf))
