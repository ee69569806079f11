"""One-shot training only: no arch step at all; the arch is chosen afterwards from the trained supernet.

Every epoch trains the supernet with the one-shot rule (search/one_shot/), over the whole run, and the
alphas keep their initial values. `hwnas select` (or `hwnas front`) then scores subnets of the trained
supernet on the search's arch split and chooses under a latency budget.
"""

from __future__ import annotations

from hwnas.search.algorithms.base import SearchAlgorithm


class OneShotOnly(SearchAlgorithm):
    name = "one_shot_only"
    trains_alphas = False

    def __init__(self):
        super().__init__()
