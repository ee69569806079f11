"""The one-shot rules, one module each. The imports below are the registry: a new rule is its module and
one line here. A recipe chooses one by class path, e.g. `hwnas.search.one_shot.Average`."""

from hwnas.search.one_shot.average import Average
from hwnas.search.one_shot.base import OneShotRule
from hwnas.search.one_shot.fair import Fair
from hwnas.search.one_shot.sandwich import Sandwich
from hwnas.search.one_shot.spos import SinglePath

ONE_SHOT_RULES: dict[str, type[OneShotRule]] = {rule.name: rule for rule in OneShotRule.__subclasses__()}
