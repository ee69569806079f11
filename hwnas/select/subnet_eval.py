"""The score of one subnet of a trained supernet: BN recalibration, then arch-split accuracy.

A supernet's BatchNorm running statistics mix every path that ever ran (and the one-shot
warm-up's averages of all paths), so they mean nothing for one path: in eval mode the demo's
argmax path scored 8%. Before a candidate is scored its statistics are recomputed for it
alone, the standard practice of once-for-all ("reset BN") and single-path one-shot NAS:

    for every BN module on the path (stem, the chosen candidate of each layer, head):
        running_mean ← 0, running_var ← 1, momentum ← None    (cumulative average)
    forward the calibration batches (train split) in train mode, no grad
        → running_mean = (1/N) Σ_batches mean_b,  running_var = (1/N) Σ_batches var_b
    eval mode: accuracy on the validation batches (the arch split, held out from the weights)

Momentum None makes the statistics an equally weighted average over the N calibration batches,
so they do not depend on what ran before. The calibration batches are fixed, so the score of
an arch is deterministic; it is cached per arch. Only the path's BN statistics change, and each
candidate resets its own before use, so scoring never depends on the order of candidates.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hwnas.net.arch import Arch
from hwnas.net.supernet import SuperNet


def path_indices(arch: Arch) -> list[int]:
    """The supernet's `paths` argument for an arch: one candidate index per searchable layer."""
    return [layer.candidates.index(op) for layer, op in zip(arch.space.layers(), arch.ops)]


def path_batch_norms(supernet: SuperNet, paths: list[int]) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BN modules that run for these paths: stem, one candidate per layer, head."""
    modules = [supernet.stem, *(mixed.candidates[i] for mixed, i in zip(supernet.mixed_ops, paths)), supernet.head]
    return [m for module in modules for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batch_norm(supernet: SuperNet, paths: list[int], calibration: list[Tensor]) -> None:
    """Replace the path's BN running statistics by their average over the calibration batches."""
    norms = path_batch_norms(supernet, paths)
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    supernet.train()
    for x in calibration:  # (B, C, H, W)
        supernet(x, paths)
    for bn, momentum in zip(norms, momenta):
        bn.momentum = momentum


@torch.no_grad()
def accuracy(supernet: SuperNet, paths: list[int], batches: list[tuple[Tensor, Tensor]]) -> float:
    """Top-1 accuracy of the path in eval mode (BN running statistics), over all batches."""
    supernet.eval()
    correct = sum(int((supernet(x, paths).argmax(1) == y).sum()) for x, y in batches)
    return correct / sum(len(y) for _, y in batches)


class SubnetScorer:
    """score(arch) = accuracy on `validation` after BN recalibration on `calibration` (cached)."""

    def __init__(self, supernet: SuperNet, calibration: list[Tensor], validation: list[tuple[Tensor, Tensor]]):
        self.supernet, self.calibration, self.validation = supernet, calibration, validation
        self.scores: dict[Arch, float] = {}

    def __call__(self, arch: Arch) -> float:
        if arch not in self.scores:
            paths = path_indices(arch)
            recalibrate_batch_norm(self.supernet, paths, self.calibration)
            self.scores[arch] = accuracy(self.supernet, paths, self.validation)
        return self.scores[arch]
