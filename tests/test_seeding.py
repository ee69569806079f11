"""Randomness keyed by counters: what makes a resumed run and every DDP rank draw alike."""

from __future__ import annotations

import torch

from hwnas.data.seeding import EpochShuffle, generator


def epoch_orders(sampler: EpochShuffle, epoch: int, passes: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return [list(sampler) for _ in range(passes)]


def test_a_fresh_sampler_set_to_epoch_two_repeats_what_a_running_one_gave():
    """The resume case: a sampler that already ran epochs 0 and 1 and a new one, both at epoch 2."""
    running = EpochShuffle(50, seed=3)
    epoch_orders(running, 0, 2)
    epoch_orders(running, 1, 3)
    assert epoch_orders(running, 2, 2) == epoch_orders(EpochShuffle(50, seed=3), 2, 2)


def test_every_epoch_and_every_pass_within_it_has_its_own_permutation():
    orders = epoch_orders(EpochShuffle(50, seed=3), 0, 2) + epoch_orders(EpochShuffle(50, seed=3), 1, 1)
    assert all(sorted(order) == list(range(50)) for order in orders)
    assert len({tuple(order) for order in orders}) == 3


def test_generator_streams_depend_on_every_part():
    draw = lambda *parts: torch.rand(4, generator=generator(*parts))  # noqa: E731
    assert torch.equal(draw(0, 5), draw(0, 5))
    assert not torch.equal(draw(0, 5), draw(0, 6)) and not torch.equal(draw(0, 5), draw(1, 5))
