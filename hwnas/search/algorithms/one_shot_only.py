"""One-shot training only: no arch step at all; the arch is chosen afterwards from the trained supernet.

Every epoch trains the supernet with the one-shot rule (search/one_shot/), over the whole run, and the
alphas keep their initial values. `hwnas select` (or `hwnas front`) then scores subnets of the trained
supernet on the search's arch split and chooses under a latency budget. With `split`, the run trains a
few-shot sub-supernet from a parent search's weights instead (search/few_shot.py).
"""

from __future__ import annotations

from hwnas.search.algorithms.base import SearchAlgorithm
from hwnas.search.few_shot import Split


class OneShotOnly(SearchAlgorithm):
    name = "one_shot_only"
    trains_alphas = False

    def __init__(self, split: Split | None = None):
        super().__init__()
        self.split = split
