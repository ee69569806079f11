"""What a search algorithm is: how the alphas learn once the one-shot epochs are over.

After the one-shot epochs every training batch of the search takes, with manual optimization
(search/module.py):

    arch step (arch batch):    every `arch_every` batches: `arch_loss`, then Adam on the alphas
    weight step (train batch): `weight_logits`, then SGD on the weights (the one-shot rule's optimizer)

An algorithm sees the search through an `ArchStep`, never the LightningModule: the supernet, the
differentiable latency objective, the target, a mean over DDP ranks and a logger. It may hold state
that a resumed search must continue with (REINFORCE's baseline): as an nn.Module its buffers are in the
search's checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from hwnas.latency.objective import ExpectedLatency
from hwnas.net.supernet import SuperNet
from hwnas.search.component import Component

AfterStep = Callable[[], None] | None  # run after the arch optimizer's step (the two-path rescale)


@dataclass(frozen=True)
class ArchStep:
    """What an algorithm's arch step may use of the search."""
    supernet: SuperNet
    objective: Callable[[Tensor, Tensor, Sequence[Tensor]], Tensor]  # (logits, labels, per-layer p) → loss, logged
    expected_latency: ExpectedLatency  # per-layer probabilities → E[lat] in ms
    target_ms: float
    reduce_mean: Callable[[Tensor], Tensor]  # the mean over DDP ranks (itself on one process)
    log: Callable[[dict[str, Tensor], int], None]  # this step's metrics, with the batch size


class SearchAlgorithm(Component, nn.Module):
    """The base of every algorithm; a subclass sets `name` and implements `arch_loss`."""

    option = "algorithm"
    trains_alphas: ClassVar[bool] = True  # False: every epoch is one-shot and no arch step is taken

    def __init__(self, arch_lr: float = 1e-3, arch_every: int = 1):
        """
        Args:
            arch_lr: Adam's learning rate on the alphas (betas (0, 0.999): each alpha moves about
                arch_lr per step, so a few hundred steps at 1e-3 decide nothing).
            arch_every: take an arch step every this many batches of the search epochs.
        """
        super().__init__()
        self.arch_lr, self.arch_every = arch_lr, arch_every
        self.check_non_negative(arch_lr=arch_lr)
        self.check_at_least(1, arch_every=arch_every)

    def arch_loss(self, step: ArchStep, x: Tensor, y: Tensor, randomness: torch.Generator,
                  progress: float) -> tuple[Tensor, AfterStep]:
        """The loss whose gradient the alphas follow on this arch batch (B, C, H, W), (B,), and what
        runs after the optimizer's step. `progress` ∈ [0, 1]: how far into the search epochs this batch is."""
        raise NotImplementedError

    def weight_logits(self, supernet: SuperNet, x: Tensor, randomness: torch.Generator) -> Tensor:
        """The weight step's forward in the search epochs: one path drawn from the alphas."""
        return supernet(x, supernet.sample_paths(randomness))


def hold_skipped_layers(supernet: SuperNet, probabilities: Sequence[Tensor], active: Sequence[int]) -> list[Tensor]:
    """The probabilities an arch step's expected latency is taken over, those of a layer whose active op
    is `zero` held constant: that layer ran nothing, so CE gives its alphas no gradient this step, and
    the latency term alone would push it towards the cheap ops on 1 − p_zero of the steps more than CE
    does (the ProxylessNAS reference drops such a layer's arch gradient for the step)."""
    return [p.detach() if mixed.is_zero[a] else p for p, mixed, a in zip(probabilities, supernet.mixed_ops, active)]
