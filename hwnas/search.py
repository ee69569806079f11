"""The search LightningModule: one-shot warm-up, then ProxylessNAS binarized search.

Every training batch is {"train": (x, y), "arch": (x, y)} (the data module's held-out arch
split, never the test set). Per batch, with manual optimization:

  warm-up epochs:  weight step only; all paths run and are averaged, ScheduledDropPath on each.
  search epochs:   arch step (arch batch): sample one path per layer, BinaryConnect gate
                   gradient, loss = latency_loss(CE, E[lat]) → Adam on the alphas;
                   weight step (train batch): sample paths again, CE → SGD on the weights.

Paths are drawn from a generator seeded by (seed, batch number), so runs are repeatable,
a resumed run samples what the uninterrupted one would have, and DDP ranks agree.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import pytorch_lightning as pl

from hwnas.drop_path import ScheduledDropPath
from hwnas.latency.objective import ExpectedLatency, LatencyLoss, LossForm
from hwnas.latency.table import load_table
from hwnas.space import load_space
from hwnas.supernet import SuperNet


class SearchModule(pl.LightningModule):
    def __init__(
        self,
        space: str,
        table: str,
        target_ms: float,
        loss_form: LossForm = "add_linear",
        loss_lambda: float = 0.1,
        loss_alpha: float = 0.2,
        loss_beta: float = 0.3,
        warmup_epochs: int = 2,
        max_drop_prob: float = 0.8,
        weight_lr: float = 0.05,
        weight_momentum: float = 0.9,
        weight_decay: float = 4e-5,
        arch_lr: float = 1e-3,
        arch_every: int = 1,
        seed: int = 0,
    ):
        """
        Args:
            space: search-space YAML. table: latency table JSON measured for that space.
            target_ms: latency target T in ms for the loss (see latency/objective.py).
            warmup_epochs: epochs of one-shot training (all paths, drop path) before arch steps.
            max_drop_prob: ScheduledDropPath's drop probability at the end of the warm-up.
            arch_every: take an arch step every this many batches of the search epochs.
            seed: seeds path sampling (with the batch number).
        """
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.space = load_space(space)
        self.table = load_table(table, self.space)
        self.supernet = SuperNet(self.space)
        self.expected_latency = ExpectedLatency(self.table)
        self.latency_loss = LatencyLoss(target_ms, loss_form, loss_alpha, loss_beta, loss_lambda)
        self.drop_path = ScheduledDropPath(max_drop_prob)

    def configure_optimizers(self):
        h = self.hparams
        weight_opt = torch.optim.SGD(self.supernet.weight_parameters(), lr=h.weight_lr, momentum=h.weight_momentum,
                                     nesterov=True, weight_decay=h.weight_decay)
        # betas (0, 0.999) and no weight decay on alphas, as in the ProxylessNAS reference
        arch_opt = torch.optim.Adam(self.supernet.arch_parameters(), lr=h.arch_lr, betas=(0.0, 0.999))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weight_opt, T_max=self.trainer.estimated_stepping_batches)
        return [weight_opt, arch_opt], [schedule]

    def on_fit_start(self):
        fastest, slowest = self.table.latency_range_ms()
        target = self.hparams.target_ms
        where = "inside" if fastest <= target <= slowest else "OUTSIDE"
        self.print(f"latency range of the space: {fastest:.3f}-{slowest:.3f} ms (table); "
                   f"target {target:.3f} ms is {where} it")

    def _batch_number(self, batch_idx: int) -> int:
        return self.current_epoch * self.trainer.num_training_batches + batch_idx

    def training_step(self, batch, batch_idx):
        weight_opt, arch_opt = self.optimizers()
        batch_number = self._batch_number(batch_idx)
        paths = torch.Generator().manual_seed(self.hparams.seed * 1_000_003 + batch_number)
        warmup = self.current_epoch < self.hparams.warmup_epochs

        if not warmup and batch_number % self.hparams.arch_every == 0:
            # arch step (arch batch)
            x, y = batch["arch"]
            ce = F.cross_entropy(self.supernet(x, self.supernet.sample_paths(paths), arch_grad=True), y)
            expected_ms = self.expected_latency(self.supernet.probabilities())
            arch_loss = self.latency_loss(ce, expected_ms)
            arch_opt.zero_grad()
            self.manual_backward(arch_loss)
            arch_opt.step()
            self.log_dict({"arch/ce": ce, "arch/loss": arch_loss}, on_step=False, on_epoch=True, batch_size=len(y))

        # weight step (train batch)
        x, y = batch["train"]
        if warmup:
            warmup_batches = self.hparams.warmup_epochs * self.trainer.num_training_batches
            logits = self.supernet(x, drop_prob=self.drop_path.drop_prob(batch_number / warmup_batches))
        else:
            logits = self.supernet(x, self.supernet.sample_paths(paths))
        ce = F.cross_entropy(logits, y)
        weight_opt.zero_grad()
        self.manual_backward(ce)
        weight_opt.step()
        self.lr_schedulers().step()
        self.log("train/ce", ce, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y))

    def on_train_epoch_end(self):
        with torch.no_grad():
            probabilities = self.supernet.probabilities()
            self.log("arch/expected_latency_ms", self.expected_latency(probabilities), prog_bar=True)
            self.log("arch/predicted_latency_ms", self.table.predict_ms(self.supernet.derive()))
            for layer, (p, names) in enumerate(zip(probabilities, (m.names for m in self.supernet.mixed_ops))):
                self.log_dict({f"prob/layer{layer}/{name}": p[j] for j, name in enumerate(names)})

    def validation_step(self, batch, batch_idx):
        """Accuracy of the currently most probable path (monitoring only).

        BN uses batch statistics, as everywhere in the search: a supernet's running statistics
        mix every path that ever ran and mean nothing for one path (in eval mode the demo's
        argmax path scored 8%). The search never reads the running statistics.
        """
        self.supernet.train()
        x, y = batch
        paths = [int(p.argmax()) for p in self.supernet.probabilities()]
        accuracy = (self.supernet(x, paths).argmax(1) == y).float().mean()
        self.log("val/acc_argmax_path", accuracy, prog_bar=True)
