"""Who enters the final check: the best archs predicted inside the window, by the score the user chose.

    pool        archs drawn uniformly (seeded) among those predicted inside [low, high] ms and within the
                memory caps, the given ones (the search's derived arch) always among them
    rank_by     supernet: the trained supernet's score (scoring/subnet_eval.py: BN recalibrated, minus the
                arch-split cross-entropy); parameters: the deployed weight count (net/memory.py), no
                training at all; both: the mean of the two ranks
    candidates  the pool's best `candidates` by that rank
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from scipy.stats import rankdata

from hwnas.latency.table import LatencyTable
from hwnas.final_check.contest import Candidate
from hwnas.net.arch import Arch, random_arch
from hwnas.net.memory import MemoryCaps, arch_weight_count
from hwnas.records.search_checkpoint import FinalCheck

log = logging.getLogger(__name__)
DRAWS_PER_ARCH = 200  # uniform draws per wanted arch before the pool settles for fewer


def window_pool(table: LatencyTable, low_ms: float, high_ms: float, size: int, seed: int,
                caps: MemoryCaps = MemoryCaps(), always: tuple[Arch, ...] = ()) -> list[Arch]:
    """Up to `size` distinct archs predicted inside [low_ms, high_ms], `always` first."""
    rng, pool = random.Random(seed), list(dict.fromkeys(always))
    for _ in range(DRAWS_PER_ARCH * size):
        if len(pool) >= size:
            break
        arch = random_arch(table.space, rng)
        if arch not in pool and low_ms <= table.predict_ms(arch) <= high_ms and (not caps or caps.fits(arch)):
            pool.append(arch)
    if len(pool) < size:
        log.info(f"note: {len(pool)} archs found inside [{low_ms:.4f}, {high_ms:.4f}] ms for a pool of {size}")
    return pool


def pick_candidates(pool: list[Arch], table: LatencyTable, supernet_score: Callable[[Arch], float],
                    settings: FinalCheck) -> list[Candidate]:
    """The pool's best `settings.candidates` by `settings.rank_by` (module docstring), best first."""
    parameters = [float(arch_weight_count(arch)) for arch in pool]
    if settings.rank_by == "parameters":
        scores = parameters
    else:
        supernet = [supernet_score(arch) for arch in pool]
        scores = supernet if settings.rank_by == "supernet" else \
            list((rankdata(supernet) + rankdata(parameters)) / (2 * len(pool)))
    order = sorted(range(len(pool)), key=lambda i: -scores[i])[:settings.candidates]
    return [Candidate(pool[i], float(scores[i]), table.predict_ms(pool[i])) for i in order]
