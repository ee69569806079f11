"""The BinaryConnect gate gradient of ProxylessNAS (Cai et al. 2019), as an autograd function.

A mixed op's output is y = Σ_j g_j · o_j(x) with a one-hot gate g sampled from p = softmax(α),
so the forward only runs the sampled op. The alphas get the BinaryConnect estimate

    dL/dα_i = Σ_j dL/dg_j · p_j (δ_ij − p_i),   dL/dg_j = Σ(o_j(x) ⊙ dL/dy)

where the sum over j runs over the gated candidates (all of them in `full` mode) and p is the
softmax over those candidates. The other candidates' outputs o_j(x) are only needed for
dL/dg_j, so they are recomputed in the backward without autograd: the forward and the
weight gradients stay those of the single sampled path.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def binary_connect_alpha_grad(gate_grads: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    """dL/dα_i = Σ_j dL/dg_j p_j (δ_ij − p_i) = p_i · (dL/dg_i − Σ_j p_j dL/dg_j), vectorised."""
    return probs * (gate_grads - (probs * gate_grads).sum())


class BinaryGate(torch.autograd.Function):
    """Identity on the sampled op's output; its backward writes the gate gradient into alphas.

    apply(active_output, alphas, x, candidates, gated, active):
      active_output: o_active(x), computed with autograd by the caller (weights get their grads);
      alphas: (n,) architecture parameters of the layer;
      x: the layer input (B, C, H, W), to recompute the other gated outputs;
      candidates: the layer's candidate modules; gated: indices taking part in the gate
      (all in full mode, the sampled pair in two-path mode); active: the sampled index.
    """

    @staticmethod
    def forward(ctx, active_output: torch.Tensor, alphas: torch.Tensor, x: torch.Tensor,
                candidates: nn.ModuleList, gated: Sequence[int], active: int) -> torch.Tensor:
        ctx.save_for_backward(active_output.detach(), alphas.detach(), x.detach())
        ctx.candidates, ctx.gated, ctx.active = candidates, tuple(gated), active
        return active_output.view_as(active_output)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        active_output, alphas, x = ctx.saved_tensors
        with torch.no_grad():
            gate_grads = torch.stack([
                ((active_output if j == ctx.active else ctx.candidates[j](x)) * grad_output).sum()
                for j in ctx.gated
            ])
            gated = torch.tensor(ctx.gated, device=alphas.device)
            alpha_grad = torch.zeros_like(alphas)
            alpha_grad[gated] = binary_connect_alpha_grad(gate_grads, alphas[gated].softmax(0))
        return grad_output, alpha_grad, None, None, None, None
