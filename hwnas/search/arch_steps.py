"""The search's algorithms, one class each, chosen once from the recipe's mode, gate and estimator.

Each strategy says how an arch step computes its loss (and what follows the optimizer step) and
which forward the weight step of a search batch trains; `choose_strategy` is the one place that
reads the option strings. The warm-up (one-shot average with drop path) is the same for all and
stays in SearchModule.

    mode     gate  estimator        strategy          arch step
    binary   full  binary_connect   BinaryConnect     one sampled path, gate gradient over all candidates
    binary   two   binary_connect   TwoPath           the same over a sampled pair, then the rescale
    binary   full  reinforce        Reinforce         −(R − b) log p(path), R = acc · (T / lat)^w
    gumbel   -     -                Gumbel            hard straight-through Gumbel-softmax sample
    softmax  -     -                Softmax           Σ_j p_j o_j(x) (DARTS, first order)
    sum      -     -                OneShotOnly       none: the supernet only (then `hwnas select`)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch

from hwnas.errors import HwnasError
from hwnas.net.gates import GATES, sample_full_gate, sample_two_gate

Mode = Literal["binary", "gumbel", "softmax", "sum"]
MODES: tuple[Mode, ...] = ("binary", "gumbel", "softmax", "sum")
Estimator = Literal["binary_connect", "reinforce"]
ESTIMATORS: tuple[Estimator, ...] = ("binary_connect", "reinforce")

AfterStep = Callable[[], None] | None  # run after the arch optimizer's step (the two-path rescale)


class ArchStrategy:
    one_shot_only = False  # True: every epoch is a warm-up epoch and no arch step is taken

    def arch_loss(self, search, x: torch.Tensor, y: torch.Tensor, randomness: torch.Generator,
                  batch_number: int) -> tuple[torch.Tensor, AfterStep]:
        raise NotImplementedError

    def weight_logits(self, search, x: torch.Tensor, randomness: torch.Generator) -> torch.Tensor:
        """A search batch's weight step: one sampled path (the sampling strategies)."""
        return search.supernet(x, search.supernet.sample_paths(randomness))


class BinaryConnect(ArchStrategy):
    sample_gate = staticmethod(sample_full_gate)

    def arch_loss(self, search, x, y, randomness, batch_number):
        net = search.supernet
        sample = net.sample_gates(randomness, self.sample_gate)
        probabilities = net.latency_probabilities(net.gated_probabilities(sample.gated), sample.active)
        loss = search.latency_objective(net(x, sample.active, sample.gated), y, probabilities)
        return loss, self.after_step(net, sample.gated)

    def after_step(self, net, gated) -> AfterStep:
        return None


class TwoPath(BinaryConnect):
    """The gate over a sampled pair; after the step, both alphas shift so that the other
    candidates' probabilities are as they were (net/gates.py)."""
    sample_gate = staticmethod(sample_two_gate)

    def after_step(self, net, gated) -> AfterStep:
        before = [alphas.detach().clone() for alphas in net.arch_parameters()]
        return lambda: net.keep_ungated_probabilities(gated, before)


class Reinforce(ArchStrategy):
    def arch_loss(self, search, x, y, randomness, batch_number):
        return search.reinforce_objective(x, y, search.supernet.sample_paths(randomness)), None


class Gumbel(ArchStrategy):
    def arch_loss(self, search, x, y, randomness, batch_number):
        net = search.supernet
        active, hard_weights = net.sample_gumbel(randomness, search.temperature(batch_number))
        probabilities = net.latency_probabilities(net.probabilities(), active)
        return search.latency_objective(net(x, active, hard_weights=hard_weights), y, probabilities), None


class Softmax(ArchStrategy):
    def arch_loss(self, search, x, y, randomness, batch_number):
        probabilities = search.supernet.probabilities()
        return search.latency_objective(search.supernet.forward_weighted(x, probabilities), y, probabilities), None

    def weight_logits(self, search, x, randomness):
        return search.supernet.forward_weighted(x, [p.detach() for p in search.supernet.probabilities()])


class OneShotOnly(ArchStrategy):
    one_shot_only = True


def choose_strategy(mode: str, gate: str, estimator: str) -> ArchStrategy:
    """The strategy for the recipe's options; a one-line HwnasError for a value or a combination the
    search cannot run."""
    for name, value, choices in [("mode", mode, MODES), ("gate", gate, GATES), ("estimator", estimator, ESTIMATORS)]:
        if value not in choices:
            raise HwnasError(f"unknown search {name} {value!r}: use one of {', '.join(choices)}")
    if mode != "binary":
        if (gate, estimator) != ("full", "binary_connect"):
            raise HwnasError(f"gate {gate!r} and estimator {estimator!r} set how binary mode trains the alphas "
                             f"from sampled paths; mode {mode!r} samples none: leave them at full / binary_connect")
        return {"gumbel": Gumbel, "softmax": Softmax, "sum": OneShotOnly}[mode]()
    if estimator == "reinforce":
        if gate != "full":
            raise HwnasError("gate 'two' is a BinaryConnect option; REINFORCE samples whole paths from p: use gate full")
        return Reinforce()
    return TwoPath() if gate == "two" else BinaryConnect()
