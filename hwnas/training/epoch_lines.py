"""One line per epoch where the output is not a terminal.

Lightning's progress bar redraws itself with carriage returns: in a terminal that is one live
line, in a log file or CI output it is thousands of fragments. Where stdout is not a terminal
the stages switch the bar off and log one line per finished epoch, such as

    epoch 3/20: arch/expected_latency_ms 0.0712, train/ce 0.412, val/acc_argmax_path 0.93 (41 s)

The line is logged when the next epoch starts (or training ends): only then has Lightning
reduced every metric of the finished epoch, the module's epoch-end ones included.
"""

from __future__ import annotations

import logging
import sys
import time

import pytorch_lightning as pl

log = logging.getLogger(__name__)


def output_is_a_terminal() -> bool:
    return sys.stdout.isatty()


class EpochLines(pl.Callback):
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.start, self.epochs_started = time.monotonic(), 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.epochs_started:  # not for the epoch a resumed run starts at: that one finished before
            self._line(trainer, trainer.current_epoch)
        self.epochs_started += 1

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._line(trainer, trainer.current_epoch)

    def _line(self, trainer: pl.Trainer, finished_epochs: int) -> None:
        if not trainer.is_global_zero:
            return
        metrics = ", ".join(f"{name} {float(value):.4g}" for name, value in sorted(trainer.progress_bar_metrics.items()))
        epochs = f"/{trainer.max_epochs}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        log.info(f"epoch {finished_epochs}{epochs}: {metrics} ({time.monotonic() - self.start:.0f} s)")
