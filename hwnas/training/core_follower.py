"""A training follows the cores other work leaves free while it runs, not only at its start.

A stage takes its torch threads from the free cores when it starts (data/cores.py). Two trainings started in
the same second each find the cores idle and take them all; then every thread of each waits for a core the
other holds, and each runs many times slower than it would on half the cores (BENCHMARKS.md, "Two trainings
on one machine"). So about every `every_s` seconds of training or validation, at a batch's start, the free
cores are counted again and torch's threads set to them: fewer when another process has started beside this
one, more again when it has ended. While it counts, this process's own threads wait; two processes counting
at the same instant would each see the other idle, so each draws its intervals at random (seeded by its
process id). A run given --threads keeps them: the user chose. A run of several processes here (DDP ranks)
does not follow: its ranks would count each other as other work; nor does one on a system that does not
count runnable tasks: the load average it would fall back on lags a minute and counts this run itself.
"""

from __future__ import annotations

import logging
import os
import random
import time

import pytorch_lightning as pl
import torch

from hwnas.data.cores import free_share, others_runnable_now

log = logging.getLogger(__name__)

EVERY_S = 15.0  # a count takes LOOKS × LOOK_INTERVAL_S (data/cores.py): a small share of this


class CoreFollower(pl.Callback):
    def __init__(self, every_s: float = EVERY_S):
        self.every_s = every_s
        self.draw = random.Random(os.getpid())
        self.following = True
        self.next_look = self._after(time.monotonic())

    def _after(self, now: float) -> float:
        return now + self.every_s * self.draw.uniform(0.5, 1.5)

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.following = trainer.num_devices == 1 and others_runnable_now() is not None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int) -> None:
        self.look()

    def on_validation_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch, batch_idx: int,
                                  dataloader_idx: int = 0) -> None:
        self.look()

    def look(self) -> None:
        """Torch's threads set to the cores free now, if the time for a look has come."""
        now = time.monotonic()
        if not self.following or now < self.next_look:
            return
        self.next_look = self._after(now)
        share, threads = free_share(), torch.get_num_threads()
        if share.threads != threads:
            log.info(f"other work now takes {share.load:.0f} of {share.cores} cores: {threads} → {share.threads} "
                     f"torch thread(s)")
            torch.set_num_threads(share.threads)
