"""`arch.json`: the one hand-off between stages (one op name per searchable layer), and the
plain subnet it describes.

    {"format": "hwnas.arch", "version": 1,
     "space": {"name": "demo", "fingerprint": "3f9a…"},
     "ops": ["mb_k3_e6", "zero", …]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hwnas.atomic import write_json
from hwnas.ops import Head, build_layer, build_stem
from hwnas.space import SearchSpace

FORMAT = "hwnas.arch"
VERSION = 1


class ArchError(ValueError):
    """An arch file that cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Arch:
    space_name: str
    space_fingerprint: str
    ops: tuple[str, ...]  # one op name per searchable layer, in order

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION,
                "space": {"name": self.space_name, "fingerprint": self.space_fingerprint},
                "ops": list(self.ops)}

    def check_space(self, space: SearchSpace, source: str = "arch") -> None:
        """Raise unless this arch was derived from `space` and names a candidate in every layer."""
        if self.space_fingerprint != space.fingerprint():
            raise ArchError(f"{source} was derived for space {self.space_name} ({self.space_fingerprint}), "
                            f"not {space.name} ({space.fingerprint()}): pass the space it was searched in")
        layers = space.layers()
        if len(self.ops) != len(layers):
            raise ArchError(f"{source} has {len(self.ops)} ops, the space has {len(layers)} searchable layers")
        for layer, op in zip(layers, self.ops):
            if op not in layer.candidates:
                raise ArchError(f"{source}: layer {layer.index} op {op!r} is not one of {list(layer.candidates)}")


def save_arch(arch: Arch, path: str | Path) -> None:
    write_json(path, arch.to_json())


def load_arch(path: str | Path) -> Arch:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ArchError(f"{path}: not an hwnas arch file of version {VERSION}: derive it again with `hwnas search`")
        return Arch(str(data["space"]["name"]), str(data["space"]["fingerprint"]), tuple(map(str, data["ops"])))
    except FileNotFoundError:
        raise ArchError(f"{path}: no such arch file (a search run writes RUN_DIR/arch.json)") from None
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ArchError(f"{path}: malformed arch file ({type(error).__name__}: {error}): derive it again") from None


def build_subnet(space: SearchSpace, arch: Arch) -> nn.Sequential:
    """The searched network as a plain module: stem → one deployed layer per op → head."""
    arch.check_space(space)
    layers = [build_layer(op, layer.shape) for layer, op in zip(space.layers(), arch.ops)]
    return nn.Sequential(build_stem(space), *layers, Head(space))
