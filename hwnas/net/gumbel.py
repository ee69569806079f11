"""Gumbel-softmax path sampling (SNAS, FBNet, GDAS): the `gumbel` search mode.

Per layer, with logits α and temperature τ:

    g_j ~ Gumbel(0, 1),   y = softmax((α + g) / τ),   k = argmax_j y_j
    h = one_hot(k) − stop_grad(y) + y                   (straight-through: h = one_hot(k) forward)

Only op k runs and the layer outputs h_k · o_k(x) (GDAS), so an arch step costs one path, like
a weight step. The gradient reaches every alpha through y_k = softmax(·)_k: dL/dα_i =
dL/dh_k · y_k (δ_ik − y_i) / τ, with dL/dh_k = Σ(o_k(x) ⊙ dL/dy_layer). argmax(α + g) is an exact
sample from softmax(α) whatever τ is; τ only sets how sharp the relaxation whose gradient is
taken is: high early (smooth, biased), annealed geometrically to `tau_end` (close to the sample,
high variance), as GDAS anneals 10 → 0.1 and FBNet multiplies by 0.956 per epoch.
"""

from __future__ import annotations

import torch


def temperature(progress: float, tau_start: float, tau_end: float) -> float:
    """τ at `progress` ∈ [0, 1] of the search: geometric from tau_start to tau_end."""
    progress = min(max(progress, 0.0), 1.0)
    return tau_start * (tau_end / tau_start) ** progress


def hard_sample(alphas: torch.Tensor, tau: float, generator: torch.Generator) -> tuple[int, torch.Tensor]:
    """(k, h): the sampled index and the (n,) straight-through one-hot, differentiable in alphas.
    The Gumbel noise is drawn on the CPU from `generator`, so DDP ranks and resumed runs agree."""
    uniform = torch.rand(alphas.shape, generator=generator).clamp(1e-10, 1 - 1e-10)
    gumbels = -torch.log(-torch.log(uniform)).to(alphas)
    soft = ((alphas + gumbels) / tau).softmax(0)
    k = int(soft.argmax())
    hard = torch.zeros_like(soft)
    hard[k] = 1.0
    return k, hard - soft.detach() + soft
