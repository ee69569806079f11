"""The sandwich rule with in-place distillation (BigNAS, Yu et al. 2020; OFA's progressive shrinking).

Each weight step trains the largest path (per layer the candidate with the most weights), the
smallest (the fewest: `zero` where a layer allows it) and `random_paths` paths drawn uniformly, their
gradients summed, each 1/n of the step. The largest learns from the labels (cross-entropy); every
other path from the largest's predictions on the same batch (in-place distillation: the soft
cross-entropy −Σ_c p_largest(c) · log p_path(c), p_largest held constant). Training the extremes every
step bounds the shared weights from both ends, and the teacher's soft labels carry more than the hard
labels to the small paths. A step costs 2 + random_paths paths.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hwnas.net.memory import layer_weight_count
from hwnas.net.supernet import SuperNet
from hwnas.search.one_shot.base import Loss, OneShotRule


class Sandwich(OneShotRule):
    name = "sandwich"

    def __init__(self, random_paths: int = 4, epochs: int = 2, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 4e-5, grad_clip: float | None = None):
        """random_paths: uniformly drawn paths trained beside the largest and the smallest each step."""
        super().__init__(epochs, lr, momentum, weight_decay, grad_clip)
        self.check_at_least(0, random_paths=random_paths)
        self.random_paths = random_paths

    def losses(self, supernet: SuperNet, x: Tensor, y: Tensor, randomness: torch.Generator,
               progress: float) -> list[Loss]:
        largest, smallest = extreme_paths(supernet)
        drawn = [[int(torch.randint(len(mixed.names), (), generator=randomness)) for mixed in supernet.mixed_ops]
                 for _ in range(self.random_paths)]
        count = 2 + len(drawn)
        teacher: list[Tensor] = []

        def largest_loss() -> Tensor:
            logits = supernet(x, largest)
            teacher.append(logits.detach().softmax(1))
            return F.cross_entropy(logits, y) / count

        def distilled(path: list[int]) -> Tensor:
            return -(teacher[0] * supernet(x, path).log_softmax(1)).sum(1).mean() / count
        return [largest_loss, *(lambda path=path: distilled(path) for path in [smallest, *drawn])]


def extreme_paths(supernet: SuperNet) -> tuple[list[int], list[int]]:
    """(largest, smallest): per layer the candidate with the most and the fewest weights as deployed."""
    largest, smallest = [], []
    for mixed, layer in zip(supernet.mixed_ops, supernet.space.layers()):
        weights = [layer_weight_count(op, layer.shape) for op in mixed.names]
        largest.append(max(range(len(weights)), key=weights.__getitem__))
        smallest.append(min(range(len(weights)), key=weights.__getitem__))
    return largest, smallest
