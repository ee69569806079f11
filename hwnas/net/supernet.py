"""The one-shot supernet: one mixed op per searchable layer, each holding every candidate.

Two forwards, each its own method, chosen by the caller per call (no global mode):

- `forward_weighted(x, weights, drop_prob)`: every candidate runs and layer l outputs
  Σ_j w_lj · o_j(x) (`zero`, and `skip` where the layer keeps its shape, contribute 0), each path dropped per sample with drop_prob
  (net/drop_path.py). With w_l = softmax(α_l) the DARTS mixed op; with uniform weights the
  one-shot average (search/one_shot/average.py).
- `forward(x, paths, gate=None)`: one path, only candidate paths[l] runs in layer l. A search
  algorithm's `gate` sits between each layer's op output and its residual add: ProxylessNAS's
  BinaryConnect gate, Gumbel's straight-through weight (search/algorithms/). A layer whose op is
  `zero` is skipped: nothing runs, nothing is gated.

The supernet holds the architecture parameters (one alpha per candidate per layer) and draws
paths from them; how the alphas learn is the search algorithm's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from hwnas.net.arch import Arch
from hwnas.net.drop_path import path_masks
from hwnas.net.ops import Head, build_candidate, build_stem
from hwnas.net.space import SearchSpace, SearchableLayer, parse_op

ALPHA_INIT_STD = 1e-3  # alphas start near uniform, N(0, 1e-3) as in the ProxylessNAS reference
Gate = Callable[[int, Tensor, Tensor], Tensor]  # (layer index, the layer's input, its op's output) → output


class MixedOp(nn.Module):
    """All candidates of one searchable layer, their alphas, and the layer's residual."""

    def __init__(self, layer: SearchableLayer):
        super().__init__()
        self.names = layer.candidates
        self.candidates = nn.ModuleList(build_candidate(name, layer.shape) for name in self.names)
        self.is_zero = [parse_op(name).runs_nothing(layer.shape) for name in self.names]  # zero, identity skip
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

    def forward_path(self, x: Tensor, active: int, gate: Callable[[Tensor, Tensor], Tensor] | None = None) -> Tensor:
        """Run candidate `active` only; `gate(x, output)` replaces its output before the residual add."""
        if self.is_zero[active]:
            return x  # the layer is skipped
        out = self.candidates[active](x)
        if gate is not None:
            out = gate(x, out)
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

    def sample_paths(self, generator: torch.Generator) -> list[int]:
        """One candidate index per layer, drawn from its probabilities.

        The generator is the only source of randomness, so ranks that seed it alike
        (shared seed + batch number) sample the same paths.
        """
        with torch.no_grad():
            return [int(torch.multinomial(p.cpu(), 1, generator=generator)) for p in self.probabilities()]

    def forward(self, x: Tensor, paths: Sequence[int], gate: Gate | None = None) -> Tensor:
        """(B, C, H, W) images → (B, classes) logits through candidate paths[l] of each layer l."""
        x = self.stem(x)
        for index, mixed in enumerate(self.mixed_ops):
            layer_gate = None if gate is None else (lambda x_in, out, index=index: gate(index, x_in, out))
            x = mixed.forward_path(x, paths[index], layer_gate)
        return self.head(x)

    def forward_weighted(self, x: torch.Tensor, weights: Sequence[torch.Tensor], drop_prob: float = 0.0,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, C, H, W) → (B, classes); layer l outputs Σ_j weights[l]_j · o_j(x)."""
        x = self.stem(x)
        for mixed, layer_weights in zip(self.mixed_ops, weights):
            x = mixed.forward_weighted(x, layer_weights, drop_prob, generator)
        return self.head(x)

    def argmax_arch(self) -> Arch:
        """The most probable candidate of every layer."""
        ops = [mixed.names[int(mixed.alphas.argmax())] for mixed in self.mixed_ops]
        return Arch(self.space, tuple(ops))
