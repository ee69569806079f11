"""DARTS (Liu et al. 2019), first order: every layer outputs the softmax-weighted sum of all its ops.

Arch step: layer l outputs Σ_j p_lj · o_j(x) with p_l = softmax(α_l), all paths run, and autograd
gives the alphas dL/dα of latency_loss(CE, E[lat]) with E[lat] over the same p. Weight step: the
same mixture, p held fixed. Every step costs every path's compute.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hwnas.net.supernet import SuperNet
from hwnas.search.algorithms.base import AfterStep, ArchStep, SearchAlgorithm


class Darts(SearchAlgorithm):
    name = "darts"

    def arch_loss(self, step: ArchStep, x: Tensor, y: Tensor, randomness: torch.Generator,
                  progress: float) -> tuple[Tensor, AfterStep]:
        probabilities = step.supernet.probabilities()
        return step.objective(step.supernet.forward_weighted(x, probabilities), y, probabilities), None

    def weight_logits(self, supernet: SuperNet, x: Tensor, randomness: torch.Generator) -> Tensor:
        return supernet.forward_weighted(x, [p.detach() for p in supernet.probabilities()])
