"""The average of all paths, each dropped per sample by ScheduledDropPath (NASNet, Zoph et al. 2018).

Every candidate path of a mixed op runs and the layer outputs their average (`zero` adds nothing):
the expectation of a uniformly sampled single path, so the binarized search that follows sees the
scale it was trained at (the plain sum is ~N× one path). Each path is dropped per sample with a
probability that rises linearly over the one-shot epochs,

    drop_prob(t) = max_drop_prob · t,   t = one-shot progress ∈ [0, 1],

which ends the one-shot phase close to single paths (net/drop_path.py draws the masks).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hwnas.errors import HwnasError
from hwnas.net.supernet import SuperNet
from hwnas.search.one_shot.base import Loss, OneShotRule


class Average(OneShotRule):
    name = "average"

    def __init__(self, max_drop_prob: float = 0.8, epochs: int = 2, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 4e-5, grad_clip: float | None = None):
        """max_drop_prob: the drop probability reached at the end of the one-shot epochs, in [0, 1)."""
        super().__init__(epochs, lr, momentum, weight_decay, grad_clip)
        if not 0.0 <= max_drop_prob < 1.0:
            raise HwnasError(f"--model.one_shot.max_drop_prob must be in [0, 1), got {max_drop_prob}")
        self.max_drop_prob = max_drop_prob

    def drop_prob(self, progress: float) -> float:
        return self.max_drop_prob * min(max(progress, 0.0), 1.0)

    def losses(self, supernet: SuperNet, x: Tensor, y: Tensor, randomness: torch.Generator,
               progress: float) -> list[Loss]:
        uniform = [torch.full_like(mixed.alphas, 1.0 / len(mixed.names)) for mixed in supernet.mixed_ops]
        return [lambda: F.cross_entropy(supernet.forward_weighted(x, uniform, self.drop_prob(progress), randomness), y)]
