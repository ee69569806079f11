"""A training follows the cores other work leaves free while it runs, not only at its start.

A stage takes its torch threads from the free cores when it starts (data/cores.py). Two trainings started in
the same second each find the cores idle and take them all; then every thread of each waits for a core the
other holds, and each runs many times slower than it would on half the cores (BENCHMARKS.md, "Two trainings
on one machine"). So every `every_s` seconds of training, at a batch's start, the free cores are counted again
and torch's threads set to them: fewer when another process has started beside this one, more again when it
has ended. A run given --threads keeps them: the user chose.
"""

from __future__ import annotations

import logging
import time

import pytorch_lightning as pl
import torch

from hwnas.data.cores import free_share

log = logging.getLogger(__name__)

EVERY_S = 15.0  # a look costs ~0.1 s (data/cores.py: LOOKS × LOOK_INTERVAL_S): under 1% of the training


class CoreFollower(pl.Callback):
    def __init__(self, every_s: float = EVERY_S):
        self.every_s = every_s
        self.last_look = time.monotonic()

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        now = time.monotonic()
        if now - self.last_look < self.every_s:
            return
        self.last_look = now
        share, threads = free_share(), torch.get_num_threads()
        if share.threads != threads:
            log.info(f"other work now takes {share.load:.0f} of {share.cores} cores: {threads} → {share.threads} "
                     f"torch thread(s)")
            torch.set_num_threads(share.threads)
