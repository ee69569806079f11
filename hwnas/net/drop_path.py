"""Drop path (NASNet, Zoph et al. 2018): per-sample masks over a mixed op's paths.

When every candidate path of a mixed op runs (the one-shot average, search/one_shot/average.py,
which raises drop_prob over its epochs), each path is dropped per sample with probability
drop_prob. Kept outputs are scaled by 1 / (1 − drop_prob), so E[output] ≈ the undropped output.

Never every path of a layer for one sample: with independent masks a layer of n paths drops
all of them for drop_prob^n of the samples (0.8^6 = 26%); a layer without a residual then
outputs zeros and every logit after it stops depending on the image. So a sample whose draw
dropped every path keeps one of them, chosen uniformly, and scaled like any kept path, so that a
rescued sample looks to the next layer like any sample that kept one path. That raises each
path's expected multiplier from 1 to 1 + drop_prob^n / (n (1 − drop_prob)): +22% at 0.8 and 6
paths, +0.3% at 0.3 and 4 (the mean of a layer's output moves by as much; BatchNorm after it
renormalises the scale). Single paths, which the search epochs run, never see this.
"""

from __future__ import annotations

import torch


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
