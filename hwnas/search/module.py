"""The search LightningModule: one-shot warm-up, then the architecture search.

Every training batch is {"train": (x, y), "arch": (x, y)} (the data module's held-out arch
split, never the test set). Per batch, with manual optimization:

  arch step (arch batch):    after the warm-up, every `arch_every` batches: Adam on the alphas
  weight step (train batch): every batch: SGD (Nesterov, cosine schedule) on the weights

What the steps run depends on the recipe's `model.mode` (one strategy class each, chosen once
from mode, gate and estimator: search/arch_steps.py):

  binary   ProxylessNAS. Arch step: one sampled path per layer and, with `estimator`
  (default)  binary_connect, the gate gradient (`gate` full: over all candidates; two: over a
           sampled pair, see net/gates.py) of loss = latency_loss(CE, E[lat]); with reinforce, the
           REINFORCE gradient of reward acc · (T / lat)^w (see search/reinforce.py).
           Weight step: another sampled path.
  gumbel   SNAS / FBNet / GDAS. Arch step: per layer a hard straight-through Gumbel-softmax
           sample at a temperature annealed from tau_start to tau_end over the search batches;
           only the sampled ops run (see net/gumbel.py). Weight step: a sampled path, as in binary.
  softmax  DARTS (first order). Arch step: every layer outputs Σ_j p_j o_j(x), all paths run,
           autograd gives the alphas dL/dα of the same loss. Weight step: the same mixture,
           p held fixed.
  sum      One-shot training only: every epoch is a warm-up epoch (all paths averaged,
           ScheduledDropPath rising over the whole run) and there are no arch steps: the
           alphas keep their initial values. The arch is chosen afterwards from the trained
           supernet by `hwnas select` (accuracy on the arch split under a latency budget).

In every mode the warm-up epochs (all epochs in `sum`) train the supernet one-shot, as
`one_shot_training` says:

  average  every path runs and the layer outputs their average, each path dropped per sample
  (default)  with a probability rising linearly over the one-shot batches (net/drop_path.py)
  fair     FairNAS's strict fairness: n single paths that hold every candidate of every layer
           once (supernet.fair_paths), their CE gradients summed into one step (n× a path's cost)
In the sampling modes (binary, gumbel) a layer whose sampled op is `zero` gets no latency
gradient in that arch step either (supernet.latency_probabilities says why).

How decided the distribution is (top probability and normalised entropy per layer, derive/window.py)
is logged every epoch; the arch itself is chosen after the run by derive/window.py / derive/on_device.py.

Randomness: each batch draws its paths and drop-path masks from one generator seeded by
(seed, batch number), so runs repeat, a resumed run draws what the uninterrupted one would
have, and DDP ranks draw alike. DDP: ranks see different batches, but the alphas are
parameters of this module, so DDP averages their gradients like the weights'; with the same
paths on every rank each step is identical everywhere, and so is the two-path rescale that
follows it. REINFORCE's reward is averaged over the ranks before it enters the baseline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from hwnas.derive.window import decision, derive_in_window
from hwnas.errors import HwnasError
from hwnas.latency.objective import ExpectedLatency, LOSS_FORMS, LatencyLoss, LossForm
from hwnas.latency.table import load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.net.drop_path import ScheduledDropPath
from hwnas.net.gates import Gate
from hwnas.net.gumbel import temperature
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet
from hwnas.records.arch_record import DEFAULT_FLOOR, TableRef
from hwnas.search.arch_steps import ArchStrategy, Estimator, Mode, choose_strategy
from hwnas.search.reinforce import MovingAverageBaseline, reinforce_loss, reward
from hwnas.data.seeding import generator
from hwnas.training.channels_last import ChannelsLast
from hwnas.training.stage_records import SearchRecord, check_classes, check_epochs

OneShotTraining = Literal["average", "fair"]
ONE_SHOT_TRAININGS: tuple[OneShotTraining, ...] = ("average", "fair")
CHECKPOINT_KEY = "hwnas"  # what a search checkpoint embeds beside Lightning's state (on_save_checkpoint)


def check_search_options(mode: str, gate: str, estimator: str, loss_form: str, target_ms: float, arch_every: int,
                         warmup_epochs: int, reward_weight: float, tau_start: float, tau_end: float,
                         derive_floor: float, loss_lambda: float = 0.1, loss_alpha: float = 0.2, loss_beta: float = 0.3,
                         weight_lr: float = 0.05, arch_lr: float = 1e-3, one_shot_training: str = "average"
                         ) -> ArchStrategy:
    """The search's strategy (search/arch_steps.py); a one-line HwnasError for an option value or
    combination the search cannot run."""
    strategy = choose_strategy(mode, gate, estimator)
    numbers = {"target_ms": target_ms, "loss_lambda": loss_lambda, "loss_alpha": loss_alpha, "loss_beta": loss_beta,
               "weight_lr": weight_lr, "arch_lr": arch_lr, "reward_weight": reward_weight}
    broken = {name: value for name, value in numbers.items() if not (math.isfinite(value) and value >= 0)}
    if broken:  # a NaN ended in a multinomial error after the warm-up; a negative λ rewards latency
        name, value = next(iter(broken.items()))
        raise HwnasError(f"--model.{name} must be a finite number ≥ 0, got {value}")
    if one_shot_training not in ONE_SHOT_TRAININGS:
        raise HwnasError(f"unknown one_shot_training {one_shot_training!r}: use one of {', '.join(ONE_SHOT_TRAININGS)}")
    if loss_form not in LOSS_FORMS:
        raise HwnasError(f"unknown search loss_form {loss_form!r}: use one of {', '.join(LOSS_FORMS)}")
    if arch_every < 1 or warmup_epochs < 0 or reward_weight < 0:
        raise HwnasError(f"need arch_every ≥ 1, warmup_epochs ≥ 0 and reward_weight ≥ 0, got "
                         f"{arch_every}, {warmup_epochs}, {reward_weight}")
    if not target_ms > 0:
        raise HwnasError(f"the latency target must be a positive number of ms, got --model.target_ms {target_ms}")
    if not 0 < tau_end <= tau_start:
        raise HwnasError(f"gumbel temperatures need 0 < tau_end ≤ tau_start, got {tau_start} → {tau_end}")
    if not 0 <= derive_floor < 1:
        raise HwnasError(f"derive_floor is the share of the target the arch must reach, in [0, 1): got {derive_floor}")
    return strategy


class SearchModule(ChannelsLast, pl.LightningModule):
    def __init__(
        self,
        space: str,
        table: str,
        target_ms: float,
        loss_form: LossForm = "abs_ratio",
        loss_lambda: float = 0.1,
        loss_alpha: float = 0.2,
        loss_beta: float = 0.3,
        warmup_epochs: int = 2,
        max_drop_prob: float = 0.8,
        one_shot_training: OneShotTraining = "average",
        weight_lr: float = 0.05,
        weight_momentum: float = 0.9,
        weight_decay: float = 4e-5,
        arch_lr: float = 1e-3,
        arch_every: int = 1,
        mode: Mode = "binary",
        gate: Gate = "full",
        estimator: Estimator = "binary_connect",
        reward_weight: float = 0.1,
        baseline_decay: float = 0.99,
        tau_start: float = 5.0,
        tau_end: float = 0.5,
        derive_floor: float = DEFAULT_FLOOR,
        measure_derived: bool = True,
        seed: int = 0,
    ):
        """
        Args:
            space: search-space YAML. table: latency table JSON measured for that space.
            target_ms: latency target T in ms for the loss (see latency/objective.py) and the reward.
            warmup_epochs: epochs of one-shot training (all paths, drop path) before arch steps.
            max_drop_prob: ScheduledDropPath's drop probability at the end of the one-shot phase.
            one_shot_training: average (all paths, drop path) or fair (FairNAS); the module docstring.
            arch_every: take an arch step every this many batches of the search epochs.
            mode: binary (ProxylessNAS), softmax (DARTS) or sum (one-shot only); see the module docstring.
            gate: binary mode's gate, full (all candidates) or two (a sampled pair, 2 paths of cost).
            estimator: binary mode's alpha gradient, binary_connect or reinforce.
            reward_weight: REINFORCE's latency exponent w in acc · (T / lat)^w.
            baseline_decay: REINFORCE's moving-average baseline decay β.
            tau_start, tau_end: gumbel mode's temperature, annealed geometrically over the search batches.
            derive_floor: the arch written at the end is the most probable one predicted inside
                [derive_floor · T, T] (derive/window.py).
            measure_derived: when the table's device is this machine, measure the derived subnet and
                correct the budget before writing arch.json (derive/on_device.py).
            seed: seeds path sampling and drop path (with the batch number).
        """
        super().__init__()
        self.strategy = check_search_options(mode, gate, estimator, loss_form, target_ms, arch_every, warmup_epochs,
                                             reward_weight, tau_start, tau_end, derive_floor, loss_lambda, loss_alpha,
                                             loss_beta, weight_lr, arch_lr, one_shot_training)
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.space = load_space(space)
        self.table = load_table(table, self.space)
        self.supernet = SuperNet(self.space)
        self.expected_latency = ExpectedLatency(self.table)
        self.latency_loss = LatencyLoss(target_ms, loss_form, loss_alpha, loss_beta, loss_lambda)
        self.drop_path = ScheduledDropPath(max_drop_prob)
        self.baseline = MovingAverageBaseline(baseline_decay)  # REINFORCE only; a buffer, so checkpointed
        self.table_path = str(Path(table).resolve())
        self.table_ref = TableRef.of(self.table_path, self.table.device)  # hashed now, before anyone re-profiles it
        if not self.strategy.one_shot_only:  # before any training: the arch this run will write must exist
            derive_in_window(self.supernet.probabilities(), self.table, target_ms, derive_floor * target_ms)

    def configure_callbacks(self):
        """arch.json and search.json, written when the fit ends, whoever runs it (training/stage_records.py)."""
        return [SearchRecord()]

    def check_ready(self, datamodule, max_epochs: int | None) -> None:
        """Before any training (training/stage_records.py): the data fits the space, the run trains something,
        and, with arch steps, at least one runs (else arch.json would be the alphas' initial noise)."""
        check_classes(self.space, datamodule)
        check_epochs(max_epochs)
        if datamodule is not None and not getattr(datamodule, "arch_fraction", 1) > 0:
            raise HwnasError("a search needs a held-out arch split for its arch steps (and mode sum for its BN "
                             "recalibration in select): set --data.init_args.arch_fraction above 0, e.g. 0.2")
        warmup = self.hparams.warmup_epochs
        if not self.strategy.one_shot_only and max_epochs and max_epochs > 0 and warmup >= max_epochs:
            raise HwnasError(f"--model.warmup_epochs {warmup} ≥ --trainer.max_epochs {max_epochs}: no arch step "
                             f"would run and arch.json would be the alphas' initial noise; raise max_epochs or lower "
                             f"warmup_epochs (or use --model.mode sum and `hwnas select`)")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Embed the space and the table's absolute path and hash: derive and select read them from
        the checkpoint, never from a YAML that may have been edited since or a path relative to
        where the search ran, and can tell when the table file changed since."""
        checkpoint[CHECKPOINT_KEY] = {"space": self.space.to_dict(), "table": self.table_ref.to_json()}

    def configure_optimizers(self):
        h = self.hparams
        weight_opt = torch.optim.SGD(self.supernet.weight_parameters(), lr=h.weight_lr, momentum=h.weight_momentum,
                                     nesterov=True, weight_decay=h.weight_decay)
        # betas (0, 0.999) and no weight decay on alphas, as in the ProxylessNAS reference. β1 = 0 also
        # leaves a zero-gradient alpha exactly where it was, which the two-path rescale relies on.
        # Mode sum never steps it; it exists so that checkpoints of every mode have one layout.
        arch_opt = torch.optim.Adam(self.supernet.arch_parameters(), lr=h.arch_lr, betas=(0.0, 0.999))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weight_opt, T_max=self.trainer.estimated_stepping_batches)
        return [weight_opt, arch_opt], [schedule]

    def on_fit_start(self):
        if isinstance(self.trainer.model, DistributedDataParallel) and not self.trainer.model.find_unused_parameters:
            raise HwnasError("the search runs one path per layer, so DDP must find unused parameters: pass "
                             "--trainer.strategy ddp (hwnas then sets find_unused_parameters=True)")
        fastest, slowest = self.table.latency_range_ms()
        target = self.hparams.target_ms
        where = "inside" if fastest <= target <= slowest else "OUTSIDE"
        self.print(f"latency range of the space: {fastest:.3f}-{slowest:.3f} ms (table); "
                   f"target {target:.3f} ms is {where} it")
        mismatch = describe_mismatch(self.hparams.table, self.table.device)
        if mismatch:
            self.print(mismatch)

    def _batch_number(self, batch_idx: int) -> int:
        return self.current_epoch * self.trainer.num_training_batches + batch_idx

    def _one_shot(self) -> bool:
        return self.strategy.one_shot_only or self.current_epoch < self.hparams.warmup_epochs

    def _drop_prob(self, batch_number: int) -> float:
        """ScheduledDropPath over the one-shot batches: the warm-up, or the whole run in mode sum."""
        if self.strategy.one_shot_only:
            one_shot_batches = self.trainer.estimated_stepping_batches
        else:
            one_shot_batches = self.hparams.warmup_epochs * self.trainer.num_training_batches
        return self.drop_path.drop_prob(batch_number / one_shot_batches)

    def training_step(self, batch, batch_idx):
        weight_opt, arch_opt = self.optimizers()
        batch_number = self._batch_number(batch_idx)
        randomness = generator(self.hparams.seed, batch_number)  # this batch's paths and drop-path masks
        one_shot = self._one_shot()
        if not one_shot and batch_number % self.hparams.arch_every == 0:
            self._arch_step(arch_opt, *batch["arch"], randomness, batch_number)
        self._weight_step(weight_opt, *batch["train"], randomness, one_shot, batch_number)

    def temperature(self, batch_number: int) -> float:
        """gumbel mode's τ: annealed over the batches after the warm-up."""
        warmup_batches = self.hparams.warmup_epochs * self.trainer.num_training_batches
        search_batches = max(1, self.trainer.estimated_stepping_batches - warmup_batches)
        return temperature((batch_number - warmup_batches) / search_batches, self.hparams.tau_start,
                           self.hparams.tau_end)

    def _arch_step(self, arch_opt, x: torch.Tensor, y: torch.Tensor, randomness: torch.Generator,
                   batch_number: int) -> None:
        """arch step (arch batch): the strategy's loss, then one Adam step on the alphas."""
        loss, after_step = self.strategy.arch_loss(self, x, y, randomness, batch_number)
        arch_opt.zero_grad()
        self.manual_backward(loss)
        arch_opt.step()
        if after_step:
            after_step()

    def latency_objective(self, logits: torch.Tensor, y: torch.Tensor, probabilities: list[torch.Tensor]) -> torch.Tensor:
        """latency_loss(CE, E[lat]) with E[lat] (ms) over `probabilities`, one (n,) tensor per layer."""
        ce = F.cross_entropy(logits, y)
        loss = self.latency_loss(ce, self.expected_latency(probabilities))
        self.log_dict({"arch/ce": ce, "arch/loss": loss}, on_step=False, on_epoch=True, batch_size=len(y),
                      sync_dist=True)
        return loss

    def reinforce_objective(self, x: torch.Tensor, y: torch.Tensor, paths: list[int]) -> torch.Tensor:
        """−(R − b) log p(paths), R = acc · (T / lat)^w of the sampled path (search/reinforce.py)."""
        with torch.no_grad():
            accuracy = (self.supernet(x, paths).argmax(1) == y).float().mean()
        # every rank scores the same path on its own arch batch: one reward, from all of them
        accuracy = self.trainer.strategy.reduce(accuracy, reduce_op="mean")
        latency_ms = self.expected_latency(self.supernet.one_hot(paths))  # the table's latency of the path
        path_reward = reward(accuracy, latency_ms, self.hparams.target_ms, self.hparams.reward_weight)
        advantage = self.baseline.advantage(path_reward)
        self.log_dict({"arch/acc": accuracy, "arch/reward": path_reward, "arch/baseline": self.baseline.value},
                      on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True)
        return reinforce_loss(advantage, self.supernet.log_probability(paths))

    def _weight_step(self, weight_opt, x: torch.Tensor, y: torch.Tensor, randomness: torch.Generator,
                     one_shot: bool, batch_number: int) -> None:
        """weight step (train batch): the mean CE of the phase's forwards, then one SGD step on the weights."""
        net = self.supernet
        if not one_shot:
            forwards = [lambda: self.strategy.weight_logits(self, x, randomness)]
        elif self.hparams.one_shot_training == "fair":
            forwards = [lambda path=path: net(x, path) for path in net.fair_paths(randomness)]
        else:
            forwards = [lambda: net.forward_one_shot(x, self._drop_prob(batch_number), randomness)]
        weight_opt.zero_grad()
        ce = 0.0
        for forward in forwards:  # one backward each: one path's activations in memory at a time
            path_ce = F.cross_entropy(forward(), y) / len(forwards)
            self.manual_backward(path_ce)
            ce += path_ce.detach()
        weight_opt.step()
        self.lr_schedulers().step()
        self.log("train/ce", ce, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(y), sync_dist=True)

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
