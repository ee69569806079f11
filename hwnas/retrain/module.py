"""The retrain LightningModule: the derived subnet, trained from scratch with SGD.

Two options make the result depend less on the seed (BENCHMARKS.md, "Retrain seed spread"):

  ema_decay      the weights that are tested and saved are an exponential moving average of the
                 trained ones, updated after every step (BN statistics averaged alike):
                 w_ema ← d · w_ema + (1 − d) · w, i.e. an average over the last ~1 / (1 − d) steps
  warmup_epochs  the learning rate rises linearly from lr / 100 to lr over these epochs, then
                 follows the cosine to 0
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from hwnas.errors import HwnasError
from hwnas.net.arch import build_subnet
from hwnas.records.arch_record import ArchRecord
from hwnas.training.channels_last import ChannelsLast
from hwnas.retrain.record import RetrainRecord
from hwnas.training.checks import check_classes, check_epochs


class RetrainModule(ChannelsLast, pl.LightningModule):
    def __init__(self, arch: str, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 4e-5,
                 label_smoothing: float = 0.1, ema_decay: float | None = None, warmup_epochs: int = 0):
        """
        Args:
            arch: the arch.json written by a search (it carries its space).
            lr: peak SGD (Nesterov) learning rate, cosine-annealed to 0 over the run.
            ema_decay: in [0, 1): test and save the moving average of the weights (module docstring).
            warmup_epochs: linear learning-rate warm-up before the cosine.
        """
        super().__init__()
        if ema_decay is not None and not 0 <= ema_decay < 1:
            raise HwnasError(f"--model.ema_decay must be in [0, 1), got {ema_decay}")
        if warmup_epochs < 0:
            raise HwnasError(f"--model.warmup_epochs must be ≥ 0, got {warmup_epochs}")
        self.save_hyperparameters()
        self.arch_record = ArchRecord.load(arch)
        self.arch = self.arch_record.arch
        self.net = build_subnet(self.arch)
        self.averaged = None
        if ema_decay is not None:  # a module attribute, so the average is checkpointed and resumes
            self.averaged = AveragedModel(self.net, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
            self.averaged.requires_grad_(False)  # never in a loss: DDP must not wait for its gradients

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_callbacks(self):
        """arch.json and subnet.pt when the fit ends, retrain.json after the test (retrain/record.py)."""
        return [RetrainRecord()]

    def check_ready(self, datamodule, max_epochs: int | None) -> None:
        """Before any training (training/checks.py): the data fits the arch's space and the run
        trains something."""
        check_classes(self.arch.space, datamodule)
        check_epochs(max_epochs)

    def configure_optimizers(self):
        h = self.hparams
        optimizer = torch.optim.SGD(self.net.parameters(), lr=h.lr, momentum=h.momentum, nesterov=True,
                                    weight_decay=h.weight_decay)
        steps = self.trainer.estimated_stepping_batches
        warmup = min(steps - 1, h.warmup_epochs * steps // max(1, self.trainer.max_epochs or 1))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup)
        if warmup > 0:
            rise = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=warmup)
            schedule = torch.optim.lr_scheduler.SequentialLR(optimizer, [rise, schedule], milestones=[warmup])
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if self.averaged is not None:
            self.averaged.update_parameters(self.net)

    def on_train_end(self) -> None:
        """With ema_decay, the averaged weights become the net's: tested, saved and exported."""
        if self.averaged is not None:
            self.net.load_state_dict(self.averaged.module.state_dict())

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.hparams.label_smoothing)
        self.log_dict({"train/loss": loss, "train/acc": (logits.argmax(1) == y).float().mean()},
                      on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def _accuracy(self, batch) -> torch.Tensor:
        x, y = batch
        return (self(x).argmax(1) == y).float().mean()

    def validation_step(self, batch, batch_idx):
        """Accuracy, and the plain cross-entropy (nats per image, no label smoothing): a smoother measure of
        the same predictions that the final check can rank by."""
        x, y = batch
        logits = self(x)
        self.log("val/acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)
        self.log("val/ce", F.cross_entropy(logits, y))

    def test_step(self, batch, batch_idx):
        self.log("test/acc", self._accuracy(batch))
