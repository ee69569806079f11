"""`arch.json`: the one hand-off between stages, and the plain subnet it describes.

    {"format": "hwnas.arch", "version": 2,
     "space": {"name": "demo", "fingerprint": "8cd7…", "definition": {…the space file…}},
     "ops": ["mb_k3_e6", "zero", …],          # one op name per searchable layer
     "provenance": {"stage": "search" | "derive" | "select",
                    "checkpoint": "/abs/RUN/search/checkpoints/last.ckpt" | null,
                    "table": {"path": "/abs/latency_tables/demo-cpu.json", "sha256": "…", "device": {…}},
                    "target_ms": 0.08, "predicted_ms": 0.0791,
                    "measured_ms": 0.0783 | null,                 # raw median on this machine
                    "measured_at_table_speed_ms": 0.0779 | null,  # × reference(table)/reference(now): decides target_met
                    "measurement": {…} | null, …}}

The space definition travels inside the file, so an arch can be predicted, retrained or
exported without the YAML it was searched in; the fingerprint guards against edits. The
provenance says where the arch came from, for the stages after it: retrain copies the record
into its run folder, export reads the table and target from it and nothing else. Paths in it
are absolute, so the record means the same whatever directory a later command runs from.
Version 1 files (no provenance) still load, with an empty provenance.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from hwnas.atomic import write_json
from hwnas.errors import HwnasError
from hwnas.ops import Head, build_layer, build_stem
from hwnas.space import SearchSpace, SpaceError, parse_space

FORMAT = "hwnas.arch"
VERSION = 2
READABLE_VERSIONS = (1, 2)


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

    def to_json(self, provenance: dict | None = None) -> dict:
        return {"format": FORMAT, "version": VERSION,
                "space": {"name": self.space.name, "fingerprint": self.space.fingerprint(),
                          "definition": self.space.to_dict()},
                "ops": list(self.ops), "provenance": provenance or {}}


def save_arch(arch: Arch, path: str | Path, provenance: dict | None = None) -> None:
    write_json(path, arch.to_json(provenance))


def load_arch(path: str | Path) -> Arch:
    return load_arch_record(path)[0]


def load_arch_record(path: str | Path) -> tuple[Arch, dict]:
    """The arch and its provenance (empty for a version 1 file)."""
    path = Path(path)
    redo = "derive it again with `hwnas search`"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArchError(f"{path}: no such arch file (a search run writes RUN_DIR/arch.json)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArchError(f"{path}: not valid JSON ({error}): {redo}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") not in READABLE_VERSIONS:
        raise ArchError(f"{path}: not an hwnas arch file (versions {', '.join(map(str, READABLE_VERSIONS))}): {redo}")
    try:
        space = parse_space(data["space"]["definition"], f"{path} (space definition)")
        ops = tuple(map(str, data["ops"]))
        fingerprint = str(data["space"]["fingerprint"])
        provenance = dict(data.get("provenance") or {})
    except (KeyError, TypeError) as error:
        raise ArchError(f"{path}: malformed arch file ({type(error).__name__}: {error}): {redo}") from None
    except SpaceError as error:
        raise ArchError(str(error)) from None
    if fingerprint != space.fingerprint():
        raise ArchError(f"{path}: the space definition was edited (fingerprint {space.fingerprint()}, "
                        f"file says {fingerprint}): {redo}")
    try:
        return Arch(space, ops), provenance
    except ArchError as error:
        raise ArchError(f"{path}: {error}") from None


def build_subnet(arch: Arch) -> nn.Sequential:
    """The searched network as a plain module: stem → one deployed layer per op → head."""
    layers = [build_layer(op, layer.shape) for layer, op in zip(arch.space.layers(), arch.ops)]
    return nn.Sequential(build_stem(arch.space), *layers, Head(arch.space))


def random_arch(space: SearchSpace, rng: random.Random) -> Arch:
    """One candidate per layer, uniformly."""
    return Arch(space, tuple(rng.choice(layer.candidates) for layer in space.layers()))
