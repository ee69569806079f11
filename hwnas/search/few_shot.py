"""Few-shot splitting (Zhao et al. 2021): sub-supernets that each hold one op of one layer.

One supernet shares every layer's weights among all archs, and paths that disagree pull them apart.
Few-shot NAS splits it at one layer: sub-supernet k starts from the trained supernet's weights (the
parent) and trains on with that layer always running its op k, so its weights serve only the archs
that hold op k there. An arch is then scored by the sub-supernet of its op in the split layer.

`hwnas search --model.algorithm OneShotOnly --model.algorithm.split '{"parent": PARENT.ckpt, "layer": 0,
"op": "mb_k3_e2"}'` trains one of them with a rule that draws paths (SinglePath, Sandwich, Fair): the rule's
paths are run with the split layer's op replaced by the pinned one (`PinnedLayer`). Its checkpoint records
the split, and its scorer (scoring/subnet_eval.py) refuses an arch with another op in that layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn

from hwnas.errors import HwnasError
from hwnas.net.space import SearchSpace
from hwnas.net.supernet import Gate, SuperNet


@dataclass(frozen=True)
class Split:
    """A sub-supernet: the parent search checkpoint's weights, trained on with layer `layer` pinned to `op`."""
    parent: str  # a search checkpoint of the same space
    layer: int  # index of the searchable layer
    op: str  # one of that layer's candidates

    def check(self, space: SearchSpace) -> int:
        """The pinned op's candidate index; one line naming the option when the layer or op is not in the space."""
        layers = space.layers()
        if isinstance(self.layer, bool) or not isinstance(self.layer, int) or not 0 <= self.layer < len(layers):
            raise HwnasError(f"--model.algorithm.split.layer is a searchable layer's index, 0-{len(layers) - 1}, "
                             f"got {self.layer!r}")
        candidates = layers[self.layer].candidates
        if self.op not in candidates:
            raise HwnasError(f"--model.algorithm.split.op {self.op!r} is not a candidate of layer {self.layer}: one of "
                             f"{', '.join(candidates)}")
        return candidates.index(self.op)

    def to_json(self) -> dict:
        """As the search's settings record it: the parent's path absolute."""
        return {"parent": str(Path(self.parent).resolve()), "layer": self.layer, "op": self.op}


class PinnedLayer:
    """A supernet as a one-shot rule sees it, with one layer's op pinned: every path it runs takes the
    pinned candidate in that layer, whatever the rule drew there. Everything else is the supernet's."""

    def __init__(self, supernet: SuperNet, layer: int, index: int):
        self.supernet, self.layer, self.index = supernet, layer, index

    @property
    def space(self) -> SearchSpace:
        return self.supernet.space

    @property
    def mixed_ops(self) -> nn.ModuleList:
        return self.supernet.mixed_ops

    def __call__(self, x: Tensor, paths: Sequence[int], gate: Gate | None = None) -> Tensor:
        pinned = list(paths)
        pinned[self.layer] = self.index
        return self.supernet(x, pinned, gate)
