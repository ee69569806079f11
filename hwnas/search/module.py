"""The search LightningModule: one-shot epochs, then the search algorithm's epochs.

Every training batch is {"train": (x, y), "arch": (x, y)} (the data module's held-out arch
split, never the test set). Per batch, with manual optimization:

  one-shot epochs (the first `one_shot.epochs`; all of them when the algorithm trains no alphas)
    weight step (train batch): the one-shot rule's forwards (search/one_shot/), one SGD step
  search epochs
    arch step (arch batch):    every `algorithm.arch_every` batches: the algorithm's loss
                               (search/algorithms/), one Adam step on the alphas
    weight step (train batch): the algorithm's forward, one SGD step on the weights

SGD (Nesterov where there is momentum; the one-shot rule's lr, momentum, weight decay, clipping) is
cosine-annealed over the whole run. The recipe names the parts by class path::

    model:
      space: recipes/spaces/demo.yaml
      table: latency_tables/demo-cpu.json
      target_ms: 0.08
      loss: {form: abs_ratio, lam: 0.5}             # latency/objective.py
      one_shot: {class_path: hwnas.search.one_shot.Average, init_args: {epochs: 4, max_drop_prob: 0.8}}
      algorithm: {class_path: hwnas.search.algorithms.Proxyless, init_args: {gate: full, arch_lr: 0.1}}
      derive: {floor: 0.9, measure: true}          # records/search_checkpoint.py

How decided the distribution is (top probability and normalised entropy per layer, derive/window.py)
is logged every epoch; the arch is chosen when the fit ends (search/record.py).

Randomness: each batch draws its paths and drop-path masks from one generator seeded by
(seed, batch number), so runs repeat, a resumed run draws what the uninterrupted one would
have, and DDP ranks draw alike. DDP: ranks see different batches, but the alphas are
parameters of this module, so DDP averages their gradients like the weights'; with the same
paths on every rank each step is identical everywhere, and so is the two-path rescale that
follows it. An algorithm's reward is averaged over the ranks (ArchStep.reduce_mean).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from hwnas.data.seeding import generator
from hwnas.derive.window import decision, derive_in_window
from hwnas.errors import HwnasError
from hwnas.latency.objective import ExpectedLatency, LatencyLoss, LossConfig, check_target_ms
from hwnas.latency.table import load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet
from hwnas.records.search_checkpoint import CHECKPOINT_KEY, DeriveSettings, SearchSettings, load_search_checkpoint
from hwnas.search.algorithms import ArchStep, Proxyless, SearchAlgorithm
from hwnas.search.few_shot import PinnedLayer, Split
from hwnas.search.one_shot import Average, OneShotRule
from hwnas.search.one_shot.base import Loss
from hwnas.search.record import SearchRecord
from hwnas.training.channels_last import ChannelsLast
from hwnas.training.checks import check_classes, check_epochs

log = logging.getLogger(__name__)


class SearchModule(ChannelsLast, pl.LightningModule):
    def __init__(self, space: str, table: str, target_ms: float, loss: LossConfig = LossConfig(),
                 one_shot: OneShotRule = None, algorithm: SearchAlgorithm = None,
                 derive: DeriveSettings = DeriveSettings(), seed: int = 0):
        """
        Args:
            space: search-space YAML. table: latency table JSON measured for that space.
            target_ms: the latency target T in ms of the loss, the algorithm and the derive.
            loss: the latency term's form and weights (latency/objective.py).
            one_shot: how the weights are trained, in the one-shot epochs by its rule, with its
                optimizer settings throughout (default: Average()).
            algorithm: how the alphas learn after the one-shot epochs (default: Proxyless()).
            derive: how the arch is chosen at the end (records/search_checkpoint.py).
            seed: seeds path sampling and drop path (with the batch number).
        """
        super().__init__()
        self.automatic_optimization = False
        check_target_ms(target_ms, "--model.target_ms")
        if isinstance(seed, bool) or not 0 <= seed < 2**63:  # generator() takes unsigned 64-bit seeds
            raise HwnasError(f"--model.seed is an integer ≥ 0, got {seed}")
        # None (the default when built in code; a recipe always names both): Average() and Proxyless(). Typed
        # without `| None`, so that LightningCLI reports a rule's own error, not a Union's list of subtypes.
        self.one_shot, self.algorithm = one_shot or Average(), algorithm or Proxyless()
        self.space = load_space(space)
        self.table = load_table(table, self.space)
        self.settings = SearchSettings(str(Path(space).resolve()), self.table.ref.path, target_ms, loss,
                                       self.one_shot.settings(), self.algorithm.settings(),
                                       self.algorithm.trains_alphas, derive, seed)
        self.save_hyperparameters(self.settings.to_json())  # plain values: the checkpoint loads with weights_only
        self.supernet = SuperNet(self.space)
        split = getattr(self.algorithm, "split", None)  # OneShotOnly's few-shot sub-supernet (search/few_shot.py)
        self.pinned = None if split is None else self._sub_supernet(split)  # what the one-shot rule trains, if not all
        self.expected_latency = ExpectedLatency(self.table)
        self.latency_loss = LatencyLoss(target_ms, loss)
        if self.algorithm.trains_alphas:  # before any training: the arch this run will write must exist
            derive_in_window(self.supernet.probabilities(), self.table, target_ms, derive.floor * target_ms)

    def _sub_supernet(self, split: Split) -> PinnedLayer:
        """The parent's weights in this supernet, seen with the split layer pinned (search/few_shot.py)."""
        index = split.check(self.space)
        if isinstance(self.one_shot, Average):
            raise HwnasError("--model.algorithm.split needs a one-shot rule that draws paths: --model.one_shot "
                             "SinglePath, Sandwich or Fair (Average runs every candidate)")
        parent = load_search_checkpoint(split.parent)
        if parent.supernet.space != self.space:
            raise HwnasError(f"--model.algorithm.split.parent {split.parent}: its space is not --model.space "
                             f"{self.settings.space}: split a supernet searched on this space")
        self.supernet.load_state_dict(parent.supernet.state_dict())
        return PinnedLayer(self.supernet, split.layer, index)

    def configure_callbacks(self):
        """arch.json and search.json, written when the fit ends, whoever runs it (search/record.py)."""
        return [SearchRecord()]

    def check_ready(self, datamodule, max_epochs: int | None) -> None:
        """Before any training (training/checks.py): the data fits the space, the run trains something,
        and, with arch steps, at least one runs (else arch.json would be the alphas' initial noise)."""
        check_classes(self.space, datamodule)
        check_epochs(max_epochs)
        if datamodule is not None and not getattr(datamodule, "arch_fraction", 1) > 0:
            raise HwnasError("a search needs a held-out arch split for its arch steps (and a one-shot-only search for "
                             "`hwnas select`'s scores): set --data.init_args.arch_fraction above 0, e.g. 0.2")
        epochs = self.one_shot.epochs
        if self.algorithm.trains_alphas and max_epochs and max_epochs > 0 and epochs >= max_epochs:
            raise HwnasError(f"--model.one_shot.epochs {epochs} ≥ --trainer.max_epochs {max_epochs}: no arch step "
                             f"would run and arch.json would be the alphas' initial noise; raise max_epochs or lower "
                             f"the one-shot epochs (or use --model.algorithm OneShotOnly and `hwnas select`)")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Embed the space, the table's reference and the settings (records/search_checkpoint.py): derive and
        select read them from the checkpoint, never from a YAML that may have been edited since."""
        checkpoint[CHECKPOINT_KEY] = {"space": self.space.to_dict(), "table": self.table.ref.to_json(),
                                      "settings": self.settings.to_json()}

    def configure_optimizers(self):
        rule = self.one_shot
        weight_opt = torch.optim.SGD(self.supernet.weight_parameters(), lr=rule.lr, momentum=rule.momentum,
                                     nesterov=rule.momentum > 0, weight_decay=rule.weight_decay)
        # betas (0, 0.999) and no weight decay on alphas, as in the ProxylessNAS reference. β1 = 0 also
        # leaves a zero-gradient alpha exactly where it was, which the two-path rescale relies on.
        # A search without arch steps never steps it; it exists so that every checkpoint has one layout.
        arch_opt = torch.optim.Adam(self.supernet.arch_parameters(), lr=self.algorithm.arch_lr, betas=(0.0, 0.999))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weight_opt, T_max=self.trainer.estimated_stepping_batches)
        return [weight_opt, arch_opt], [schedule]

    def on_fit_start(self):
        if isinstance(self.trainer.model, DistributedDataParallel) and not self.trainer.model.find_unused_parameters:
            raise HwnasError("the search runs one path per layer, so DDP must find unused parameters: pass "
                             "--trainer.strategy ddp (hwnas then sets find_unused_parameters=True)")
        fastest, slowest = self.table.latency_range_ms()
        target = self.settings.target_ms
        where = "inside" if fastest <= target <= slowest else "OUTSIDE"
        if self.trainer.is_global_zero:
            log.info(f"latency range of the space: {fastest:.3f}-{slowest:.3f} ms (table); target {target:.3f} ms is "
                     f"{where} it")
            mismatch = describe_mismatch(self.table.ref.path, self.table.device)
            if mismatch:
                log.info(mismatch)

    def _one_shot_batches(self) -> int:
        """Batches of the one-shot epochs: the whole run when the algorithm trains no alphas."""
        if not self.algorithm.trains_alphas:
            return self.trainer.estimated_stepping_batches
        return self.one_shot.epochs * self.trainer.num_training_batches

    def training_step(self, batch, batch_idx):
        weight_opt, arch_opt = self.optimizers()
        batch_number = self.current_epoch * self.trainer.num_training_batches + batch_idx
        randomness = generator(self.settings.seed, batch_number)  # this batch's paths and drop-path masks
        one_shot_batches = self._one_shot_batches()
        x, y = batch["train"]
        if batch_number < one_shot_batches:
            trained = self.pinned or self.supernet
            losses = self.one_shot.losses(trained, x, y, randomness, batch_number / one_shot_batches)
        else:
            search_batches = max(1, self.trainer.estimated_stepping_batches - one_shot_batches)
            progress = (batch_number - one_shot_batches) / search_batches
            if (batch_number - one_shot_batches) % self.algorithm.arch_every == 0:
                self._arch_step(arch_opt, *batch["arch"], randomness, progress)
            losses = [lambda: F.cross_entropy(self.algorithm.weight_logits(self.supernet, x, randomness), y)]
        self._weight_step(weight_opt, losses, len(y))

    def _arch_step(self, arch_opt, x: Tensor, y: Tensor, randomness: torch.Generator, progress: float) -> None:
        """arch step (arch batch): the algorithm's loss, then one Adam step on the alphas."""
        step = ArchStep(self.supernet, self._latency_objective, self.expected_latency, self.settings.target_ms,
                        lambda value: self.trainer.strategy.reduce(value, reduce_op="mean"), self._log_step)
        loss, after_step = self.algorithm.arch_loss(step, x, y, randomness, progress)
        arch_opt.zero_grad()
        self.manual_backward(loss)
        arch_opt.step()
        if after_step:
            after_step()

    def _latency_objective(self, logits: Tensor, y: Tensor, probabilities: Sequence[Tensor]) -> Tensor:
        """latency_loss(CE, E[lat]) with E[lat] (ms) over `probabilities`, one (n,) tensor per layer."""
        ce = F.cross_entropy(logits, y)
        loss = self.latency_loss(ce, self.expected_latency(probabilities))
        self._log_step({"arch/ce": ce, "arch/loss": loss}, len(y))
        return loss

    def _log_step(self, metrics: dict[str, Tensor], batch_size: int) -> None:
        self.log_dict(metrics, on_step=False, on_epoch=True, batch_size=batch_size, sync_dist=True)

    def _weight_step(self, weight_opt, losses: list[Loss], batch_size: int) -> None:
        """weight step (train batch): each forward's loss backpropagated on its own (one path's activations
        in memory at a time), the gradients summed, clipped if the rule says so, then one SGD step."""
        weight_opt.zero_grad()
        total = 0.0
        for loss in losses:
            value = loss()
            self.manual_backward(value)
            total += value.detach()
        if self.one_shot.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.supernet.weight_parameters(), self.one_shot.grad_clip)
        weight_opt.step()
        self.lr_schedulers().step()
        self.log("train/ce", total, on_step=False, on_epoch=True, prog_bar=True, batch_size=batch_size, sync_dist=True)

    def on_train_epoch_end(self):
        # sync_dist: the ranks' metrics are averaged (CE differs per rank, the alphas do not)
        with torch.no_grad():
            probabilities = self.supernet.probabilities()
            self.log("arch/expected_latency_ms", self.expected_latency(probabilities), prog_bar=True, sync_dist=True)
            self.log("arch/argmax_predicted_ms", self.table.predict_ms(self.supernet.argmax_arch()), sync_dist=True)
            decided = decision(probabilities)  # how decided the distribution is (derive/window.py)
            self.log_dict({"arch/min_top_probability": decided["min_top_probability"],
                           "arch/max_normalized_entropy": decided["max_normalized_entropy"]}, sync_dist=True)
            for layer, (p, names) in enumerate(zip(probabilities, (m.names for m in self.supernet.mixed_ops))):
                self.log_dict({f"prob/layer{layer}/{name}": p[j] for j, name in enumerate(names)}, sync_dist=True)

    def validation_step(self, batch, batch_idx):
        """Accuracy of the currently most probable path (monitoring only).

        BN uses batch statistics, as everywhere in the search: a supernet's running statistics
        mix every path that ever ran and mean nothing for one path (in eval mode the demo's
        argmax path scored 8%). The search never reads the running statistics. Train-mode BN
        would still write them, so it writes into copies: monitoring leaves the supernet as it
        was (else the sanity check that Lightning runs again on resume makes a resumed run's
        buffers differ from an uninterrupted run's).
        """
        self.supernet.train()
        x, y = batch
        paths = [int(p.argmax()) for p in self.supernet.probabilities()]
        buffers = {name: buffer.clone() for name, buffer in self.supernet.named_buffers()}
        logits = torch.func.functional_call(self.supernet, buffers, (x, paths))
        accuracy = (logits.argmax(1) == y).float().mean()
        self.log("val/acc_argmax_path", accuracy, prog_bar=True, sync_dist=True)
