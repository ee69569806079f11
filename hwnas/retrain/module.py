"""The retrain LightningModule: the derived subnet, trained from scratch with plain SGD."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import pytorch_lightning as pl

from hwnas.net.arch import build_subnet
from hwnas.records import ArchRecord
from hwnas.training.channels_last import ChannelsLastOnCuda
from hwnas.training.stage_records import RetrainRecord, check_classes, check_epochs


class RetrainModule(ChannelsLastOnCuda, pl.LightningModule):
    def __init__(self, arch: str, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 4e-5,
                 label_smoothing: float = 0.1):
        """
        Args:
            arch: the arch.json written by a search (it carries its space).
            lr: peak SGD (Nesterov) learning rate, cosine-annealed to 0 over the run.
        """
        super().__init__()
        self.save_hyperparameters()
        self.arch_record = ArchRecord.load(arch)
        self.arch = self.arch_record.arch
        self.net = build_subnet(self.arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def configure_callbacks(self):
        """arch.json and subnet.pt when the fit ends, retrain.json after the test (training/stage_records.py)."""
        return [RetrainRecord()]

    def check_ready(self, datamodule, max_epochs: int | None) -> None:
        """Before any training (training/stage_records.py): the data fits the arch's space and the run trains something."""
        check_classes(self.arch.space, datamodule)
        check_epochs(max_epochs)

    def configure_optimizers(self):
        h = self.hparams
        optimizer = torch.optim.SGD(self.net.parameters(), lr=h.lr, momentum=h.momentum, nesterov=True,
                                    weight_decay=h.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

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
        self.log("val/acc", self._accuracy(batch), prog_bar=True)

    def test_step(self, batch, batch_idx):
        self.log("test/acc", self._accuracy(batch))
