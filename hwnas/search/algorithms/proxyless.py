"""ProxylessNAS (Cai et al. 2019): binarized paths with the BinaryConnect gate gradient.

A mixed op's output is y = Σ_j g_j · o_j(x) with a one-hot gate g sampled from p = softmax(α),
so the forward only runs the sampled op. The alphas get the BinaryConnect estimate

    dL/dα_i = Σ_j dL/dg_j · p_j (δ_ij − p_i),   dL/dg_j = Σ(o_j(x) ⊙ dL/dy)

where j runs over the *gated* candidates G and p is the softmax over G only, of the loss
latency_loss(CE, E[lat]) (latency/objective.py), E[lat] taken over the gated probabilities:

- gate `full`: G = every candidate, the active op drawn from softmax(α). The backward
  recomputes the |G| − 1 other outputs, so an arch step costs |O| paths of compute.
- gate `two` (two-path): G = two candidates drawn without replacement from softmax(α), the
  active one drawn from the softmax over the pair. The backward recomputes one other output:
  2 paths whatever |O|. After the optimizer step the pair's alphas are shifted together,

      α_G ← α_G − log(Σ_{j∈G} exp α_j^new / Σ_{j∈G} exp α_j^old),

  which restores Σ_{j∈G} exp α_j and with it the softmax's normaliser, so every candidate
  outside the pair keeps its probability exactly; only the split inside the pair moved.
  This needs the candidates outside G to be untouched by the step: they get no gradient
  (the latency term uses the pair's probabilities too), and the arch optimizer is Adam with
  β1 = 0, which moves a zero-gradient entry by exactly 0.

The other outputs o_j(x) are only needed for dL/dg_j, so they are recomputed in the backward
without autograd: the forward and the weight gradients stay those of the single sampled path.
A layer whose sampled op is `zero` ran nothing and gets no gate gradient that step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from hwnas.errors import HwnasError
from hwnas.search.algorithms.base import AfterStep, ArchStep, SearchAlgorithm, hold_skipped_layers

Gate = Literal["full", "two"]
GATES: tuple[Gate, ...] = ("full", "two")


class Proxyless(SearchAlgorithm):
    name = "proxyless"

    def __init__(self, gate: Gate = "full", arch_lr: float = 1e-3, arch_every: int = 1):
        """gate: full (the gate over all candidates) or two (over a sampled pair: 2 paths of compute)."""
        super().__init__(arch_lr, arch_every)
        if gate not in GATES:
            raise HwnasError(f"--model.algorithm.gate must be one of {', '.join(GATES)}, got {gate!r}")
        self.gate = gate

    def arch_loss(self, step: ArchStep, x: Tensor, y: Tensor, randomness: torch.Generator,
                  progress: float) -> tuple[Tensor, AfterStep]:
        net = step.supernet
        sample = sample_two_gate if self.gate == "two" else sample_full_gate
        active, gated = zip(*(sample(mixed.alphas, randomness) for mixed in net.mixed_ops))
        probabilities = hold_skipped_layers(net, [gated_probabilities(mixed.alphas, layer_gated)
                                                  for mixed, layer_gated in zip(net.mixed_ops, gated)], active)

        def binary_gate(index: int, layer_input: Tensor, output: Tensor) -> Tensor:
            mixed = net.mixed_ops[index]
            return BinaryGate.apply(output, mixed.alphas, layer_input, mixed.candidates, gated[index], active[index])

        loss = step.objective(net(x, active, binary_gate), y, probabilities)
        if self.gate == "full":
            return loss, None
        before = [alphas.detach().clone() for alphas in net.arch_parameters()]

        def keep_ungated() -> None:  # the two-path rescale, after the optimizer's step
            for alphas, old, layer_gated in zip(net.arch_parameters(), before, gated):
                keep_ungated_probabilities(alphas, old, layer_gated)
        return loss, keep_ungated


@torch.no_grad()
def sample_full_gate(alphas: Tensor, generator: torch.Generator) -> tuple[int, tuple[int, ...]]:
    """Gate `full`, for one layer: (active, gated = every candidate). Draws only from `generator`
    (CPU), so DDP ranks that seed it alike agree."""
    active = int(torch.multinomial(alphas.detach().cpu().softmax(0), 1, generator=generator))
    return active, tuple(range(len(alphas)))


@torch.no_grad()
def sample_two_gate(alphas: Tensor, generator: torch.Generator) -> tuple[int, tuple[int, ...]]:
    """Gate `two`, for one layer: (active, gated = a pair drawn from softmax(α))."""
    alphas = alphas.detach().cpu()
    size = min(2, len(alphas))  # a layer with one candidate gates over itself
    pair = torch.multinomial(alphas.softmax(0), size, replacement=False, generator=generator)
    choice = int(torch.multinomial(alphas[pair].softmax(0), 1, generator=generator))
    return int(pair[choice]), tuple(int(j) for j in pair)


def gated_probabilities(alphas: Tensor, gated: Sequence[int]) -> Tensor:
    """(n,) softmax over the gated candidates, 0 elsewhere; differentiable in alphas[gated]."""
    index = torch.tensor(gated, device=alphas.device)
    return torch.zeros_like(alphas).index_put((index,), alphas[index].softmax(0))


def keep_ungated_probabilities(alphas: Tensor, old_alphas: Tensor, gated: Sequence[int]) -> None:
    """In place, after the optimizer step: α_G −= logsumexp(α_G^new) − logsumexp(α_G^old)."""
    with torch.no_grad():
        index = torch.tensor(gated, device=alphas.device)
        alphas[index] -= alphas[index].logsumexp(0) - old_alphas[index].logsumexp(0)


def binary_connect_alpha_grad(gate_grads: Tensor, probs: Tensor) -> Tensor:
    """dL/dα_i = Σ_j dL/dg_j p_j (δ_ij − p_i) = p_i · (dL/dg_i − Σ_j p_j dL/dg_j), vectorised."""
    return probs * (gate_grads - (probs * gate_grads).sum())


class BinaryGate(torch.autograd.Function):
    """Identity on the sampled op's output; its backward writes the gate gradient into alphas.

    apply(active_output, alphas, x, candidates, gated, active):
      active_output: o_active(x), computed with autograd by the caller (weights get their grads);
      alphas: (n,) architecture parameters of the layer;
      x: the layer input (B, C, H, W), to recompute the other gated outputs;
      candidates: the layer's candidate modules; gated: indices taking part in the gate
      (all with gate full, the sampled pair with gate two); active: the sampled index.
    """

    @staticmethod
    def forward(ctx, active_output: Tensor, alphas: Tensor, x: Tensor, candidates: nn.ModuleList,
                gated: Sequence[int], active: int) -> Tensor:
        ctx.save_for_backward(active_output.detach(), alphas.detach(), x.detach())
        ctx.candidates, ctx.gated, ctx.active = candidates, tuple(gated), active
        return active_output.view_as(active_output)

    @staticmethod
    def backward(ctx, grad_output: Tensor):
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
