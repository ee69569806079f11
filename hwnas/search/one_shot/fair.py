"""FairNAS's strict fairness (Chu et al. 2021): every candidate of every layer once per step.

n paths, n = the most candidates of any layer, in which every candidate of every layer appears
once (a layer with fewer candidates fills its remaining places with uniform draws). Trained together
in one weight step (their CE gradients summed, each 1/n), they give every candidate one update per
step, where sampled or dropped paths give some more than others. A step costs n paths.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hwnas.net.supernet import SuperNet
from hwnas.search.one_shot.base import Loss, OneShotRule


class Fair(OneShotRule):
    name = "fair"

    def losses(self, supernet: SuperNet, x: Tensor, y: Tensor, randomness: torch.Generator,
               progress: float) -> list[Loss]:
        paths = fair_paths(supernet, randomness)
        return [lambda path=path: F.cross_entropy(supernet(x, path), y) / len(paths) for path in paths]


def fair_paths(supernet: SuperNet, generator: torch.Generator) -> list[list[int]]:
    """The n paths of one step (module docstring), drawn from `generator`."""
    most = max(len(mixed.names) for mixed in supernet.mixed_ops)
    columns = []
    for mixed in supernet.mixed_ops:
        count = len(mixed.names)
        order = torch.randperm(count, generator=generator).tolist()
        columns.append(order + torch.randint(count, (most - count,), generator=generator).tolist())
    return [list(path) for path in zip(*columns)]
