"""Single-path one-shot (SPOS, Guo et al. 2020): one path per step, drawn uniformly.

Each weight step trains one path whose op in every layer is drawn uniformly from the layer's
candidates, so every candidate is trained alike in expectation and the supernet's weights are
shared by single paths only, as the archs they are scored and derived as. A step costs one path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hwnas.net.supernet import SuperNet
from hwnas.search.one_shot.base import Loss, OneShotRule


class SinglePath(OneShotRule):
    name = "single_path"

    def losses(self, supernet: SuperNet, x: Tensor, y: Tensor, randomness: torch.Generator,
               progress: float) -> list[Loss]:
        path = uniform_path(supernet, randomness)
        return [lambda: F.cross_entropy(supernet(x, path), y)]


def uniform_path(supernet: SuperNet, generator: torch.Generator) -> list[int]:
    """Per layer a candidate index drawn uniformly from `generator` (the alphas play no part)."""
    return [int(torch.randint(len(mixed.names), (), generator=generator)) for mixed in supernet.mixed_ops]
