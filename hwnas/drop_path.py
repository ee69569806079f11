"""ScheduledDropPath (NASNet, Zoph et al. 2018), used in the one-shot warm-up of the supernet.

During the warm-up every candidate path of a mixed op runs and their outputs are averaged;
each path is dropped per sample with a probability that rises linearly over the warm-up:

    drop_prob(t) = max_drop_prob · t,   t = step / total_steps ∈ [0, 1]

Kept outputs are scaled by 1 / (1 − drop_prob), so E[output] equals the undropped output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def drop_path(x: torch.Tensor, drop_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero whole samples of x (B, ...) with probability drop_prob; scale the rest by 1/keep.

    The mask is drawn on the CPU from `generator` (the global RNG when None) and then moved to
    x's device: the search passes its per-batch generator, so a resumed run drops what the
    uninterrupted one dropped, on any device.
    """
    if drop_prob <= 0.0:
        return x
    keep_prob = 1.0 - drop_prob
    keep = torch.rand(x.shape[0], generator=generator) < keep_prob  # (B,)
    mask = keep.to(x).view((x.shape[0],) + (1,) * (x.dim() - 1))  # (B, 1, 1, 1)
    return x * mask / keep_prob


@dataclass(frozen=True)
class ScheduledDropPath:
    max_drop_prob: float  # the drop probability reached at the end of the schedule, in [0, 1)

    def __post_init__(self):
        if not 0.0 <= self.max_drop_prob < 1.0:
            raise ValueError(f"max_drop_prob must be in [0, 1), got {self.max_drop_prob}")

    def drop_prob(self, progress: float) -> float:
        """Drop probability at `progress` ∈ [0, 1] of the schedule (clamped outside it)."""
        return self.max_drop_prob * min(max(progress, 0.0), 1.0)
