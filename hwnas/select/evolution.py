"""Choosing a subnet under a latency budget: aging evolution and its random-search baseline.

Both search the archs of a space whose predicted latency (table, ms) is at most the target,
scored by any `score(arch) -> float` (higher is better; `hwnas select` passes minus the
supernet's cross-entropy on the arch split, see scoring/subnet_eval.py). Infeasible archs are
never scored.

Aging (regularized) evolution, Real et al. 2019 ("Regularized Evolution for Image Classifier
Architecture Search", Algorithm 1)::

    population ← P feasible archs drawn at random, scored
    repeat C cycles:
        parent ← the best of S members drawn from the population (tournament)
        child  ← parent with one layer's op changed (a feasible neighbour), scored
        append child; remove the OLDEST member          (aging: not the worst)

Aging makes every arch die young however good its score was, so a lucky score cannot hold a
place forever; the paper found it more robust than removing the worst. The budget is P + C
scored candidates; random search gets the same number.

Feasible sampling: rejection (uniform over the feasible archs) for a few tries; when the target
is so tight that almost nothing passes, a constructive draw: start from the fastest arch (with
memory caps, the fastest within them: the derive's DP finds it exactly) and visit the layers in
random order, setting each to an op drawn uniformly among those that keep the arch feasible. The
start is feasible (checked when the budget is made) and every step keeps it so, so this always
ends with a feasible arch (biased toward cheap ops in the layers visited last, which is the price
of a target this tight).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwnas.derive.window import capped_problem, most_probable_in_window
from hwnas.errors import HwnasError
from hwnas.latency.table import LatencyTable
from hwnas.net.arch import Arch, random_arch
from hwnas.net.memory import MemoryCaps
from hwnas.net.space import SearchSpace

Score = Callable[[Arch], float]
REJECTION_TRIES = 100  # uniform draws before the constructive draw takes over


class LatencyBudget:
    """Which archs of a space are feasible: predicted latency (table, ms) ≤ target_ms, and within
    the memory caps (net/memory.py) when there are any."""

    def __init__(self, table: LatencyTable, space: SearchSpace, target_ms: float, caps: MemoryCaps = MemoryCaps()):
        self.range_ms = fastest, slowest = table.latency_range_ms()  # over every arch of the space
        if not target_ms >= fastest:
            raise HwnasError(f"no arch of space {space.name} fits {target_ms} ms: the table's feasible range is "
                             f"{fastest:.4f}-{slowest:.4f} ms (fastest-slowest); pick a target of at least "
                             f"{fastest:.4f} ms")
        self.table, self.space, self.target_ms, self.caps = table, space, target_ms, caps
        self.start = self._fastest_within_caps()  # where the constructive draw starts: feasible
        self._latency_ms: dict[Arch, float] = {}  # predict_ms walks every layer; mutation asks it ~40× per child

    def latency_ms(self, arch: Arch) -> float:
        if arch not in self._latency_ms:
            self._latency_ms[arch] = self.table.predict_ms(arch)
        return self._latency_ms[arch]

    def feasible(self, arch: Arch) -> bool:
        return self.latency_ms(arch) <= self.target_ms and (not self.caps or self.caps.fits(arch))

    def _fastest_within_caps(self) -> Arch:
        """The fastest arch that keeps within the caps: the derive's DP with each op's cost as its
        (negated) score; the fastest arch of all when there are no caps."""
        costs, weights = capped_problem(self.table, self.caps)
        if not self.caps:  # per layer its cheapest op, summed as predict_ms sums it: feasible at T = the fastest
            return Arch(self.space, tuple(layer.candidates[c.index(min(c))]
                                          for layer, c in zip(self.space.layers(), costs)))
        indices = most_probable_in_window([-np.nan_to_num(np.asarray(c), posinf=0.0) for c in costs], costs,
                                          self.table.fixed_ms(), 0.0, self.target_ms, weights)
        if indices is None:
            raise HwnasError(f"no arch of space {self.space.name} fits {self.target_ms} ms within the memory caps "
                             f"{self.caps.to_json()}: raise a cap or the target")
        return Arch(self.space, tuple(layer.candidates[j] for layer, j in zip(self.space.layers(), indices)))

    def sample(self, rng: random.Random) -> Arch:
        """A feasible arch at random (see the module docstring for how)."""
        layers = self.space.layers()
        for _ in range(REJECTION_TRIES):
            arch = random_arch(self.space, rng)
            if self.feasible(arch):
                return arch
        ops = self.start.ops
        for index in rng.sample(range(len(layers)), len(layers)):  # ops: the fastest arch, then feasible
            options = [op for op in layers[index].candidates if self.feasible(self._replace(ops, index, op))]
            ops = self._replace(ops, index, rng.choice(options)).ops
        return Arch(self.space, ops)

    def mutate(self, parent: Arch, rng: random.Random) -> Arch:
        """One layer's op changed: uniform over the feasible single-layer neighbours of the
        parent; a fresh feasible arch if it has none (it sits on the budget's edge everywhere)."""
        neighbours = [self._replace(parent.ops, index, op) for index, layer in enumerate(self.space.layers())
                      for op in layer.candidates if op != parent.ops[index]]
        feasible = [arch for arch in neighbours if self.feasible(arch)]
        return rng.choice(feasible) if feasible else self.sample(rng)

    def _replace(self, ops: tuple[str, ...], index: int, op: str) -> Arch:
        return Arch(self.space, ops[:index] + (op,) + ops[index + 1:])


@dataclass(frozen=True)
class Evaluated:
    arch: Arch
    score: float
    latency_ms: float  # predicted by the table


@dataclass(frozen=True)
class Evolution:
    history: list[Evaluated]  # every scored candidate, in order: P initial, then one child per cycle
    population: list[Evaluated]  # the survivors after the last cycle, oldest first


def aging_evolution(budget: LatencyBudget, score: Score, population: int, cycles: int, sample: int,
                    seed: int) -> Evolution:
    """Real et al.'s aging evolution (module docstring) with P = population, C = cycles,
    S = sample; P + C candidates are scored."""
    if population < 1 or cycles < 0 or not 1 <= sample <= population:
        raise HwnasError(f"evolution needs population ≥ 1, cycles ≥ 0 and 1 ≤ sample ≤ population, got "
                         f"population {population}, cycles {cycles}, sample {sample}")
    rng = random.Random(seed)
    evaluate = _evaluator(budget, score)
    history = [evaluate(budget.sample(rng)) for _ in range(population)]
    alive = deque(history)
    for _ in range(cycles):
        parent = max(rng.sample(list(alive), sample), key=lambda member: member.score)
        child = evaluate(budget.mutate(parent.arch, rng))
        history.append(child)
        alive.append(child)
        alive.popleft()  # aging: the oldest dies, whatever its score
    return Evolution(history, list(alive))


def random_search(budget: LatencyBudget, score: Score, evaluations: int, seed: int) -> list[Evaluated]:
    """The baseline: `evaluations` feasible archs drawn at random, each scored."""
    if evaluations < 1:
        raise HwnasError(f"random search needs at least 1 evaluation, got {evaluations}")
    rng = random.Random(seed)
    evaluate = _evaluator(budget, score)
    return [evaluate(budget.sample(rng)) for _ in range(evaluations)]


def _evaluator(budget: LatencyBudget, score: Score) -> Callable[[Arch], Evaluated]:
    return lambda arch: Evaluated(arch, score(arch), budget.latency_ms(arch))


def best(evaluated: list[Evaluated]) -> Evaluated:
    """Highest score; among equal scores the fastest (every candidate here is feasible)."""
    return max(evaluated, key=lambda e: (e.score, -e.latency_ms))


def pareto_front(evaluated: list[Evaluated]) -> list[Evaluated]:
    """The candidates no other beats on both axes (faster or as fast, and scoring higher or as
    high, one of them strictly), by increasing latency; duplicates of an arch count once."""
    unique = {e.arch: e for e in evaluated}.values()
    front: list[Evaluated] = []
    for candidate in sorted(unique, key=lambda e: (e.latency_ms, -e.score)):
        if not front or candidate.score > front[-1].score:
            front.append(candidate)
    return front
