"""The search algorithms, one module each. The imports below are the registry: a new algorithm is its
module and one line here. A recipe chooses one by class path, e.g. `hwnas.search.algorithms.Proxyless`."""

from hwnas.search.algorithms.base import ArchStep, SearchAlgorithm
from hwnas.search.algorithms.darts import Darts
from hwnas.search.algorithms.gumbel import Gumbel
from hwnas.search.algorithms.one_shot_only import OneShotOnly
from hwnas.search.algorithms.proxyless import Proxyless
from hwnas.search.algorithms.reinforce import Reinforce

ALGORITHMS: dict[str, type[SearchAlgorithm]] = {algorithm.name: algorithm for algorithm in SearchAlgorithm.__subclasses__()}
