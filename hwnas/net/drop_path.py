"""ScheduledDropPath (NASNet, Zoph et al. 2018), used in the one-shot warm-up of the supernet.

During the warm-up every candidate path of a mixed op runs and their outputs are averaged;
each path is dropped per sample with a probability that rises linearly over the warm-up:

    drop_prob(t) = max_drop_prob · t,   t = step / total_steps ∈ [0, 1]

Kept outputs are scaled by 1 / (1 − drop_prob), so E[output] ≈ the undropped output.

Never every path of a layer for one sample: with independent masks a layer of n paths drops
all of them for drop_prob^n of the samples (0.8^6 = 26%); a layer without a residual then
outputs zeros and every logit after it stops depending on the image (43% of the samples at
the end of the demo's warm-up). So a sample whose draw dropped every path keeps one of them,
chosen uniformly, and scaled like any kept path, so that a rescued sample looks to the next
layer like any sample that kept one path. That raises each path's expected multiplier from 1
to 1 + drop_prob^n / (n (1 − drop_prob)): +22% at 0.8 and 6 paths, +0.3% at 0.3 and 4 (the
mean of a layer's output moves by as much; BatchNorm after it renormalises the scale). The
binarized phase that follows runs single paths and never sees this.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hwnas.errors import HwnasError


def path_masks(batch: int, paths: int, drop_prob: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """(batch, paths) multipliers: 0 for a dropped path, 1 / (1 − drop_prob) for a kept one, at
    least one kept path per sample (module docstring).

    Drawn on the CPU from `generator` (the global RNG when None): the search passes its per-batch
    generator, so a resumed run drops what the uninterrupted one dropped, on any device.
    """
    if drop_prob <= 0.0:
        return torch.ones(batch, paths)
    keep = torch.rand(batch, paths, generator=generator) >= drop_prob  # (B, n)
    rescue = torch.randint(paths, (batch,), generator=generator)  # (B,): the path kept if all dropped
    dropped_all = ~keep.any(dim=1)
    keep[dropped_all, rescue[dropped_all]] = True
    return keep.float() / (1.0 - drop_prob)


@dataclass(frozen=True)
class ScheduledDropPath:
    max_drop_prob: float  # the drop probability reached at the end of the schedule, in [0, 1)

    def __post_init__(self):
        if not 0.0 <= self.max_drop_prob < 1.0:
            raise HwnasError(f"--model.max_drop_prob must be in [0, 1), got {self.max_drop_prob}")

    def drop_prob(self, progress: float) -> float:
        """Drop probability at `progress` ∈ [0, 1] of the schedule (clamped outside it)."""
        return self.max_drop_prob * min(max(progress, 0.0), 1.0)
