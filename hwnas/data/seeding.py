"""Randomness that is a function of counters, never of how long a process has been running.

A search or retrain that is interrupted and resumed from its checkpoint must draw what the
uninterrupted run drew, and DDP ranks must draw alike. Lightning restores the model, the
optimizers and the loop counters, but no random-generator state. So every draw here comes
from a fresh generator seeded by (seed, counters):

- `generator(seed, batch_number)`: the search's path sampling and drop-path masks of one batch;
- `EpochShuffle`: the data order of (seed, epoch, pass), where pass counts how often the
  sampler was iterated in this epoch (the search's smaller arch split is cycled several
  times per epoch, each pass in a new order).

Tried first: a DataLoader with one seeded torch.Generator. Its state advances with every
epoch, so a run resumed at epoch 2 started again from the epoch-0 order.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Sampler


def generator(*parts: int) -> torch.Generator:
    """A CPU generator seeded by the integers `parts` (mixed by numpy's SeedSequence, so that
    nearby counters give unrelated streams)."""
    (seed,) = np.random.SeedSequence([int(part) for part in parts]).generate_state(1, dtype=np.uint64)
    return torch.Generator().manual_seed(int(seed))


class EpochShuffle(Sampler[int]):
    """A random permutation of range(n), fixed by (seed, epoch, pass).

    Lightning calls `set_epoch` at the start of every epoch, also through its DDP sampler
    wrapper (which then shards this order between the ranks).
    """

    def __init__(self, n: int, seed: int):
        self.n, self.seed = n, seed
        self.epoch = self.passes = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.passes = epoch, 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        order = torch.randperm(self.n, generator=generator(self.seed, self.epoch, self.passes))
        self.passes += 1
        return iter(order.tolist())
