"""The one-shot supernet: one mixed op per searchable layer, each holding every candidate.

Three forwards, each its own method, chosen by the caller per call (no global mode):

- `forward_weighted(x, weights)`: every candidate runs and layer l outputs Σ_j w_lj · o_j(x)
  (`zero` contributes 0). With w_l = softmax(α_l) this is the DARTS mixed op (search mode
  `softmax`): the alphas get their gradient from autograd, and every path costs compute.
- `forward_one_shot(x, drop_prob)`: the same with uniform weights 1/|O| and every path
  dropped per sample by ScheduledDropPath: the warm-up, and search mode `sum`. The average is
  the expectation of a uniformly sampled single path, so the binarized phase that follows
  sees the scale it was trained at. Tried first: the plain sum. On the demo space its CE
  jumped from 0.11 to 2.41 at the hand-over to single paths (the sum is ~N× one path); the
  average with drop_prob rising to 0.8 went 1.43 → 1.13 and kept falling (/tmp experiment,
  3+3 epochs on digits).
- `forward(x, paths, gated=None, hard_weights=None)`: one path, only candidate paths[l] runs in
  layer l. With `gated` (a GateSample's, see net/gates.py) the alphas receive the BinaryConnect gate
  gradient over those candidates (ProxylessNAS); with `hard_weights` each output is scaled by
  its straight-through Gumbel weight (search mode `gumbel`, see net/gumbel.py). A layer whose sampled
  op is `zero` is skipped and gets no gradient.

In every arch step a layer whose sampled op is `zero` ran nothing, so CE gives its alphas no
gradient that step; `latency_probabilities` then holds that layer's probabilities constant in
the expected latency, or the latency term alone would push the layer, towards the cheap ops,
on 1 − p_zero of the steps more than CE does (the reference drops such a layer's arch gradient).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.net.arch import Arch
from hwnas.net.drop_path import path_masks
from hwnas.net.gates import BinaryGate, GateSample, GateSampler, gated_probabilities, keep_ungated_probabilities
from hwnas.net.gumbel import hard_sample
from hwnas.net.ops import Head, build_candidate, build_stem
from hwnas.net.space import SearchSpace, SearchableLayer, parse_op

ALPHA_INIT_STD = 1e-3  # alphas start near uniform, N(0, 1e-3) as in the ProxylessNAS reference


class MixedOp(nn.Module):
    """All candidates of one searchable layer, their alphas, and the layer's residual."""

    def __init__(self, layer: SearchableLayer):
        super().__init__()
        self.names = layer.candidates
        self.candidates = nn.ModuleList(build_candidate(name, layer.shape) for name in self.names)
        self.is_zero = [parse_op(name).is_zero for name in self.names]
        self.has_residual = layer.shape.has_residual
        self.alphas = nn.Parameter(torch.randn(len(self.names)) * ALPHA_INIT_STD)

    def probabilities(self) -> torch.Tensor:
        return self.alphas.softmax(0)

    def forward_weighted(self, x: torch.Tensor, weights: torch.Tensor, drop_prob: float = 0.0,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """Σ_j weights_j · o_j(x) over the candidates (zero adds nothing), each path dropped per
        sample, never all of them (net/drop_path.py)."""
        paths = [j for j, zero in enumerate(self.is_zero) if not zero]
        masks = path_masks(len(x), len(paths), drop_prob, generator).to(x)  # (B, paths)
        out = sum(weights[j] * self.candidates[j](x) * masks[:, i].view(-1, 1, 1, 1) for i, j in enumerate(paths))
        return x + out if self.has_residual else out

    def forward_path(self, x: torch.Tensor, active: int, gated: Sequence[int] | None = None,
                     hard_weights: torch.Tensor | None = None) -> torch.Tensor:
        """Run candidate `active` only. With `gated`: the gate gradient over those candidates
        (BinaryConnect, net/gates.py); with `hard_weights`: the output scaled by its straight-through
        weight (Gumbel, net/gumbel.py)."""
        if self.is_zero[active]:
            return x  # the layer is skipped: nothing ran, so no gate gradient this step
        out = self.candidates[active](x)
        if gated is not None:
            out = BinaryGate.apply(out, self.alphas, x, self.candidates, gated, active)
        if hard_weights is not None:
            out = hard_weights[active] * out
        return x + out if self.has_residual else out


class SuperNet(nn.Module):
    def __init__(self, space: SearchSpace):
        super().__init__()
        self.space = space
        self.stem = build_stem(space)
        self.mixed_ops = nn.ModuleList(MixedOp(layer) for layer in space.layers())
        self.head = Head(space)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [mixed.alphas for mixed in self.mixed_ops]

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def probabilities(self) -> list[torch.Tensor]:
        """Per layer, the softmax over its candidates (differentiable in the alphas)."""
        return [mixed.probabilities() for mixed in self.mixed_ops]

    def log_probability(self, paths: Sequence[int]) -> torch.Tensor:
        """log p(paths) = Σ_l log softmax(α_l)[paths[l]], differentiable in the alphas (REINFORCE)."""
        return sum(mixed.alphas.log_softmax(0)[active] for mixed, active in zip(self.mixed_ops, paths))

    def one_hot(self, paths: Sequence[int]) -> list[torch.Tensor]:
        """Per layer, the (n,) one-hot of paths[l]: the expected latency over it is the path's latency."""
        return [F.one_hot(torch.tensor(active), len(mixed.names)).to(mixed.alphas)
                for mixed, active in zip(self.mixed_ops, paths)]

    def sample_paths(self, generator: torch.Generator) -> list[int]:
        """One candidate index per layer, drawn from its probabilities.

        The generator is the only source of randomness, so ranks that seed it alike
        (shared seed + batch number) sample the same paths.
        """
        with torch.no_grad():
            return [int(torch.multinomial(p.cpu(), 1, generator=generator)) for p in self.probabilities()]

    def fair_paths(self, generator: torch.Generator) -> list[list[int]]:
        """FairNAS's strict fairness (Chu et al. 2021): n paths, n = the most candidates of any layer,
        in which every candidate of every layer appears once (a layer with fewer candidates fills
        its remaining places with uniform draws). Trained together in one weight step, they give
        every candidate one update per step, where sampled or dropped paths give some more than others."""
        most = max(len(mixed.names) for mixed in self.mixed_ops)
        columns = []
        for mixed in self.mixed_ops:
            count = len(mixed.names)
            order = torch.randperm(count, generator=generator).tolist()
            columns.append(order + torch.randint(count, (most - count,), generator=generator).tolist())
        return [list(path) for path in zip(*columns)]

    def sample_gates(self, generator: torch.Generator, sample_gate: GateSampler) -> GateSample:
        """Active and gated candidates of every layer for one arch step (see net/gates.py)."""
        active, gated = zip(*(sample_gate(mixed.alphas, generator) for mixed in self.mixed_ops))
        return GateSample(active, gated)

    def gated_probabilities(self, gated: Sequence[Sequence[int]]) -> list[torch.Tensor]:
        """Per layer, the softmax over its gated candidates (0 elsewhere): what the arch step's
        expected latency is taken over, so that only the gated alphas get a gradient."""
        return [gated_probabilities(mixed.alphas, layer_gated) for mixed, layer_gated in zip(self.mixed_ops, gated)]

    def latency_probabilities(self, probabilities: Sequence[torch.Tensor], active: Sequence[int]
                              ) -> list[torch.Tensor]:
        """The probabilities an arch step's expected latency is taken over: those of a layer whose
        active op is `zero` held constant (module docstring)."""
        return [p.detach() if mixed.is_zero[a] else p for p, mixed, a in zip(probabilities, self.mixed_ops, active)]

    def sample_gumbel(self, generator: torch.Generator, tau: float) -> tuple[list[int], list[torch.Tensor]]:
        """Per layer the sampled index and its straight-through one-hot (net/gumbel.py)."""
        samples = [hard_sample(mixed.alphas, tau, generator) for mixed in self.mixed_ops]
        return [k for k, _ in samples], [h for _, h in samples]

    def keep_ungated_probabilities(self, gated: Sequence[Sequence[int]], old_alphas: Sequence[torch.Tensor]) -> None:
        """The two-path rescale, after the arch optimizer step; old_alphas: the alphas before it."""
        for mixed, layer_gated, old in zip(self.mixed_ops, gated, old_alphas):
            keep_ungated_probabilities(mixed.alphas, old, layer_gated)

    def uniform_weights(self) -> list[torch.Tensor]:
        return [torch.full_like(mixed.alphas, 1.0 / len(mixed.names)) for mixed in self.mixed_ops]

    def forward(self, x: torch.Tensor, paths: Sequence[int], gated: Sequence[Sequence[int]] | None = None,
                hard_weights: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """(B, C, H, W) images → (B, classes) logits through one candidate per layer (`gated` and
        `hard_weights`, per layer: see MixedOp.forward_path)."""
        x = self.stem(x)
        for index, mixed in enumerate(self.mixed_ops):
            x = mixed.forward_path(x, paths[index], None if gated is None else gated[index],
                                   None if hard_weights is None else hard_weights[index])
        return self.head(x)

    def forward_weighted(self, x: torch.Tensor, weights: Sequence[torch.Tensor], drop_prob: float = 0.0,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, C, H, W) → (B, classes); layer l outputs Σ_j weights[l]_j · o_j(x)."""
        x = self.stem(x)
        for mixed, layer_weights in zip(self.mixed_ops, weights):
            x = mixed.forward_weighted(x, layer_weights, drop_prob, generator)
        return self.head(x)

    def forward_one_shot(self, x: torch.Tensor, drop_prob: float, generator: torch.Generator | None = None
                         ) -> torch.Tensor:
        """The warm-up forward: the average of all paths, each dropped per sample with drop_prob."""
        return self.forward_weighted(x, self.uniform_weights(), drop_prob, generator)

    def argmax_arch(self) -> Arch:
        """The most probable candidate of every layer."""
        ops = [mixed.names[int(mixed.alphas.argmax())] for mixed in self.mixed_ops]
        return Arch(self.space, tuple(ops))
