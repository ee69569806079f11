"""What the search's pluggable parts share: a registry name, their settings as plain data, checked numbers.

A search algorithm (search/algorithms/) and a one-shot rule (search/one_shot/) are each chosen in the
recipe by `class_path` and built by LightningCLI from `init_args`. The checkpoint and search.json keep
them as `settings()`: the registry name and every constructor argument, plain values only, so that a
checkpoint loads with `weights_only` and is read back without importing anything by name.
"""

from __future__ import annotations

import inspect
import math
from typing import ClassVar

from hwnas.errors import HwnasError


class Component:
    """Mixed into a search algorithm or a one-shot rule; each stores every constructor argument under its own name."""

    name: ClassVar[str]  # its key in the registry (search/algorithms/__init__.py, search/one_shot/__init__.py)
    option: ClassVar[str]  # the recipe field it is given in: "algorithm" or "one_shot"

    def settings(self) -> dict:
        """{"name": registry name, argument: value, …}: what the recipe chose, as plain data (an argument that is
        a record, e.g. few_shot.Split, as its to_json())."""
        arguments = [name for name in inspect.signature(type(self).__init__).parameters if name != "self"]
        values = {argument: getattr(self, argument) for argument in arguments}
        return {"name": self.name, **{argument: value.to_json() if hasattr(value, "to_json") else value
                                      for argument, value in values.items()}}

    def check_non_negative(self, **values: float) -> None:
        """One line naming the recipe option when a value is not a finite number ≥ 0 (a NaN learning
        rate ended in a multinomial error after the warm-up; a negative weight rewards the opposite)."""
        for argument, value in values.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise HwnasError(f"--model.{self.option}.{argument} must be a finite number ≥ 0, got {value}")

    def check_at_least(self, minimum: int, **values: int) -> None:
        for argument, value in values.items():
            if not value >= minimum:
                raise HwnasError(f"--model.{self.option}.{argument} must be at least {minimum}, got {value}")


def registry(*components: type[Component]) -> dict[str, type[Component]]:
    """name → class, each name once."""
    found = {component.name: component for component in components}
    assert len(found) == len(components), "two components share a registry name"
    return found
