"""What a one-shot rule is: how the supernet's weights are trained in the one-shot epochs.

The search's first `epochs` epochs (every epoch when the algorithm trains no alphas) train the
supernet's weights alone: per train batch, the rule's forwards, each a loss backpropagated on its
own (one path's activations in memory at a time) and summed, then one SGD step. The rule's optimizer
settings hold for the whole search, its search epochs included (the algorithm's weight steps).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from hwnas.net.supernet import SuperNet
from hwnas.search.component import Component

Loss = Callable[[], Tensor]  # one forward's loss, already weighted by its share of the step


class OneShotRule(Component):
    """The base of every rule; a subclass sets `name` and implements `losses`."""

    option = "one_shot"

    def __init__(self, epochs: int = 2, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 4e-5,
                 grad_clip: float | None = None):
        """
        Args:
            epochs: one-shot epochs before the algorithm's arch steps start (the warm-up).
            lr, momentum, weight_decay: SGD (Nesterov) on the weights, lr cosine-annealed over the search.
            grad_clip: clip the weights' gradient norm at this value before each step; None: no clipping.
        """
        self.epochs, self.lr, self.momentum, self.weight_decay, self.grad_clip = epochs, lr, momentum, weight_decay, grad_clip
        self.check_at_least(0, epochs=epochs)
        self.check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if grad_clip is not None:
            self.check_non_negative(grad_clip=grad_clip)

    def losses(self, supernet: SuperNet, x: Tensor, y: Tensor, randomness: torch.Generator,
               progress: float) -> list[Loss]:
        """The step's forwards on a train batch (B, C, H, W), (B,); `progress` ∈ [0, 1]: how far into
        the one-shot epochs this batch is."""
        raise NotImplementedError
