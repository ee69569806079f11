"""The one-shot supernet: one mixed op per searchable layer, each holding every candidate.

Two ways to run it, chosen per call (no global mode):
- `paths=None`: one-shot warm-up, every candidate runs, each path dropped per sample by
  ScheduledDropPath (drop_prob given by the caller), and the outputs are averaged over the
  candidates (`zero` counts, contributing 0). The average is the expectation of a uniformly
  sampled single path, so the binarized phase that follows sees the scale it was trained at.
  Tried first: the plain sum. On the demo space its CE jumped from 0.11 to 2.41 at the
  hand-over to single paths (the sum is ~N× one path); the average with drop_prob rising
  to 0.8 went 1.43 → 1.13 and kept falling (/tmp experiment, 3+3 epochs on digits).
- `paths=[i_0, i_1, …]`: ProxylessNAS binarized paths, only candidate i_l runs in layer l.
  With `arch_grad=True` the alphas receive the BinaryConnect gate gradient (see gates.py);
  when a layer's sampled op is `zero`, that layer is skipped and gets no arch gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwnas.arch import Arch
from hwnas.drop_path import drop_path
from hwnas.gates import BinaryGate
from hwnas.ops import Head, build_candidate, build_stem
from hwnas.space import SearchableLayer, SearchSpace, parse_op

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

    def forward_all(self, x: torch.Tensor, drop_prob: float) -> torch.Tensor:
        """One-shot: mean over candidates of their outputs, each path dropped per sample."""
        kept = [drop_path(op(x), drop_prob) for op, zero in zip(self.candidates, self.is_zero) if not zero]
        out = sum(kept) / len(self.candidates)
        return x + out if self.has_residual else out

    def forward_path(self, x: torch.Tensor, active: int, arch_grad: bool) -> torch.Tensor:
        """Binarized: run candidate `active` only; with arch_grad, gate over all candidates."""
        if self.is_zero[active]:
            return x  # the layer is skipped: nothing ran, so no gate gradient this step
        out = self.candidates[active](x)
        if arch_grad:
            out = BinaryGate.apply(out, self.alphas, x, self.candidates, range(len(self.names)), active)
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
        (shared seed + global step) sample the same paths.
        """
        with torch.no_grad():
            return [int(torch.multinomial(p.cpu(), 1, generator=generator)) for p in self.probabilities()]

    def forward(self, x: torch.Tensor, paths: Sequence[int] | None = None, *, arch_grad: bool = False,
                drop_prob: float = 0.0) -> torch.Tensor:
        """(B, C, H, W) images → (B, classes) logits; see the module docstring for the modes."""
        x = self.stem(x)
        for index, mixed in enumerate(self.mixed_ops):
            x = mixed.forward_all(x, drop_prob) if paths is None else mixed.forward_path(x, paths[index], arch_grad)
        return self.head(x)

    def derive(self) -> Arch:
        """The most probable candidate of every layer."""
        ops = [mixed.names[int(mixed.alphas.argmax())] for mixed in self.mixed_ops]
        return Arch(self.space, tuple(ops))
