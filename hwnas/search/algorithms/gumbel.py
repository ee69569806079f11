"""Gumbel-softmax path sampling (SNAS, FBNet, GDAS).

Per layer, with logits α and temperature τ:

    g_j ~ Gumbel(0, 1),   y = softmax((α + g) / τ),   k = argmax_j y_j
    h = one_hot(k) − stop_grad(y) + y                   (straight-through: h = one_hot(k) forward)

Only op k runs and the layer outputs h_k · o_k(x) (GDAS), so an arch step costs one path, like
a weight step. The gradient reaches every alpha through y_k = softmax(·)_k: dL/dα_i =
dL/dh_k · y_k (δ_ik − y_i) / τ, with dL/dh_k = Σ(o_k(x) ⊙ dL/dy_layer), of the loss
latency_loss(CE, E[lat]) with E[lat] over softmax(α). argmax(α + g) is an exact sample from
softmax(α) whatever τ is; τ only sets how sharp the relaxation whose gradient is taken is: high
early (smooth, biased), annealed geometrically to `tau_end` over the search epochs (close to the
sample, high variance), as GDAS anneals 10 → 0.1 and FBNet multiplies by 0.956 per epoch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hwnas.errors import HwnasError
from hwnas.search.algorithms.base import AfterStep, ArchStep, SearchAlgorithm, hold_skipped_layers


class Gumbel(SearchAlgorithm):
    name = "gumbel"

    def __init__(self, tau_start: float = 5.0, tau_end: float = 0.5, arch_lr: float = 1e-3, arch_every: int = 1):
        """tau_start, tau_end: the temperature at the first and the last arch step (geometric in between)."""
        super().__init__(arch_lr, arch_every)
        if not 0 < tau_end <= tau_start:
            raise HwnasError(f"gumbel temperatures need 0 < tau_end ≤ tau_start, got {tau_start} → {tau_end}")
        self.tau_start, self.tau_end = tau_start, tau_end

    def temperature(self, progress: float) -> float:
        """τ at `progress` ∈ [0, 1] of the search epochs: geometric from tau_start to tau_end."""
        progress = min(max(progress, 0.0), 1.0)
        return self.tau_start * (self.tau_end / self.tau_start) ** progress

    def arch_loss(self, step: ArchStep, x: Tensor, y: Tensor, randomness: torch.Generator,
                  progress: float) -> tuple[Tensor, AfterStep]:
        net = step.supernet
        tau = self.temperature(progress)
        active, weights = zip(*(hard_sample(mixed.alphas, tau, randomness) for mixed in net.mixed_ops))
        probabilities = hold_skipped_layers(net, net.probabilities(), active)

        def straight_through(index: int, layer_input: Tensor, output: Tensor) -> Tensor:
            return weights[index][active[index]] * output
        return step.objective(net(x, active, straight_through), y, probabilities), None


def hard_sample(alphas: Tensor, tau: float, generator: torch.Generator) -> tuple[int, Tensor]:
    """(k, h): the sampled index and the (n,) straight-through one-hot, differentiable in alphas.
    The Gumbel noise is drawn on the CPU from `generator`, so DDP ranks and resumed runs agree."""
    uniform = torch.rand(alphas.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    gumbels = -torch.log(-torch.log(uniform)).to(alphas)
    soft = ((alphas + gumbels) / tau).softmax(0)
    k = int(soft.argmax())
    hard = torch.zeros_like(soft)
    hard[k] = 1.0
    return k, hard - soft.detach() + soft
