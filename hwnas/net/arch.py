"""An arch: one op per searchable layer of a space, and the plain subnet it describes.

Its JSON (`Arch.to_json`) carries the whole space definition, so an arch can be predicted,
retrained or exported without the YAML it was searched in; the fingerprint guards against
edits. The file arch.json, an arch with its provenance, is records.ArchRecord.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hwnas.errors import HwnasError
from hwnas.net.ops import Head, build_layer, build_stem
from hwnas.net.space import SearchSpace, SpaceError, parse_space


class ArchError(HwnasError):
    """An arch that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Arch:
    space: SearchSpace
    ops: tuple[str, ...]  # one op name per searchable layer, in order

    def __post_init__(self):
        layers = self.space.layers()
        if len(self.ops) != len(layers):
            raise ArchError(f"arch has {len(self.ops)} ops, space {self.space.name} has {len(layers)} searchable layers")
        for layer, op in zip(layers, self.ops):
            if op not in layer.candidates:
                raise ArchError(f"arch: layer {layer.index} op {op!r} is not one of {list(layer.candidates)}")

    def to_json(self) -> dict:
        return {"space": {"name": self.space.name, "fingerprint": self.space.fingerprint(),
                          "definition": self.space.to_dict()},
                "ops": list(self.ops)}


def arch_from_json(data: dict, path: str | Path, redo: str) -> Arch:
    """The arch in `data` (Arch.to_json's layout, read from `path`); one ArchError line naming the
    file, ending with `redo`, when it is malformed or its space was edited."""
    try:
        space = parse_space(data["space"]["definition"], f"{path} (space definition)")
        ops = tuple(map(str, data["ops"]))
        fingerprint = str(data["space"]["fingerprint"])
    except (KeyError, TypeError) as error:
        raise ArchError(f"{path}: malformed arch file ({type(error).__name__}: {error}): {redo}") from None
    except SpaceError as error:
        raise ArchError(str(error)) from None
    if fingerprint != space.fingerprint():
        raise ArchError(f"{path}: the space definition was edited (fingerprint {space.fingerprint()}, "
                        f"file says {fingerprint}): {redo}")
    try:
        return Arch(space, ops)
    except ArchError as error:
        raise ArchError(f"{path}: {error}") from None


def build_subnet(arch: Arch) -> nn.Sequential:
    """The searched network as a plain module: stem → one deployed layer per op → head."""
    layers = [build_layer(op, layer.shape) for layer, op in zip(arch.space.layers(), arch.ops)]
    return nn.Sequential(build_stem(arch.space), *layers, Head(arch.space))


def random_arch(space: SearchSpace, rng: random.Random) -> Arch:
    """One candidate per layer, uniformly."""
    return Arch(space, tuple(rng.choice(layer.candidates) for layer in space.layers()))
