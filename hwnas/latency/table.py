"""The latency lookup table: format, validation, lookup and prediction.

A table is JSON, never pickle (`latency_tables/<space>-<device>.json`)::

    {"format": "hwnas.latency_table", "version": 1,
     "space": {"name": "demo", "fingerprint": "8cd7…", "resolution": 16},
     "device": {"kind": "cpu", "provider": "CPUExecutionProvider", "threads": 1, "batch_size": 1,
                "onnxruntime": "1.32.0", "cpu": "…", "date": "2026-11-23T…"},
     "protocol": {"rounds": 300, "warmup_rounds": 30, …},
     "entries": {"mb_k3_e6 16x16x16->24 s2": {"median_ms": 0.041, "p25_ms": 0.039, "p75_ms": 0.044}, …}}

Entries are keyed by what the op computes (op, input side, channels, stride), so layers of
the same shape share one entry; `zero` costs 0 ms and has none. The fixed parts (stem and
head) have entries too, so a prediction is fixed parts + one entry per searchable layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from hwnas.arch import Arch
from hwnas.atomic import write_json
from hwnas.errors import HwnasError
from hwnas.space import LayerShape, SearchSpace, parse_op

FORMAT = "hwnas.latency_table"
VERSION = 1


class TableError(HwnasError):
    """A table that cannot be used for this space; the message says what to do."""


def layer_key(op_name: str, shape: LayerShape) -> str:
    """'mb_k3_e6 16x16x16->24 s2': op, input H×W×C, output channels, stride."""
    r = shape.resolution
    return f"{op_name} {r}x{r}x{shape.in_channels}->{shape.out_channels} s{shape.stride}"


def stem_key(space: SearchSpace) -> str:
    return layer_key("stem", space.stem_shape)


def head_key(space: SearchSpace) -> str:
    s = space.head_shape
    return f"head {s.resolution}x{s.resolution}x{s.in_channels}->{s.out_channels}->{space.num_classes}"


def required_keys(space: SearchSpace) -> list[str]:
    """Every entry a table for `space` must hold, each once, in network order."""
    keys = [stem_key(space)]
    for layer in space.layers():
        keys += [layer_key(op, layer.shape) for op in layer.candidates if not parse_op(op).is_zero]
    keys.append(head_key(space))
    return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class EntryStats:
    median_ms: float
    p25_ms: float
    p75_ms: float


@dataclass
class LatencyTable:
    space_name: str
    space_fingerprint: str
    resolution: int
    device: dict  # kind, provider, threads, batch size, runtime version, CPU model, date
    protocol: dict  # how the entries were timed (rounds, warm-up, order)
    entries: dict[str, EntryStats] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "version": VERSION,
            "space": {"name": self.space_name, "fingerprint": self.space_fingerprint, "resolution": self.resolution},
            "device": self.device, "protocol": self.protocol,
            "entries": {key: vars(stats) for key, stats in self.entries.items()},
        }

    def layer_costs_ms(self, space: SearchSpace) -> list[list[float]]:
        """Per searchable layer, the median latency in ms of each candidate (zero: 0 ms)."""
        return [[0.0 if parse_op(op).is_zero else self.entries[layer_key(op, layer.shape)].median_ms
                 for op in layer.candidates] for layer in space.layers()]

    def fixed_ms(self, space: SearchSpace) -> float:
        """Latency in ms of the parts that are not searched: stem and head."""
        return self.entries[stem_key(space)].median_ms + self.entries[head_key(space)].median_ms

    def predict_ms(self, arch: Arch) -> float:
        """Sum of the table's medians for this arch, in ms (fixed parts included).

        The caller loaded the table for arch.space (load_table checks the fingerprint).
        """
        costs = self.layer_costs_ms(arch.space)
        return self.fixed_ms(arch.space) + sum(
            layer_costs[layer.candidates.index(op)]
            for layer, layer_costs, op in zip(arch.space.layers(), costs, arch.ops))

    def latency_range_ms(self, space: SearchSpace) -> tuple[float, float]:
        """(fastest, slowest) predicted latency in ms over every arch of the space."""
        costs = self.layer_costs_ms(space)
        fixed = self.fixed_ms(space)
        return fixed + sum(map(min, costs)), fixed + sum(map(max, costs))


def save_table(table: LatencyTable, path: str | Path) -> None:
    write_json(path, table.to_json())


def load_table(path: str | Path, space: SearchSpace) -> LatencyTable:
    """Read a table and check it fits `space`; every failure is one line naming the table."""
    path = Path(path)
    redo = f"re-run `hwnas profile --space <space.yaml> --out {path}`"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise TableError(f"{path}: no such latency table: {redo}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TableError(f"{path}: not valid JSON ({error}), perhaps truncated: {redo}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TableError(f"{path}: not an hwnas latency table: {redo}")
    if data.get("version") != VERSION:
        raise TableError(f"{path}: table format version {data.get('version')!r}, this hwnas reads {VERSION}: {redo}")
    try:
        table = LatencyTable(
            space_name=str(data["space"]["name"]), space_fingerprint=str(data["space"]["fingerprint"]),
            resolution=int(data["space"]["resolution"]), device=dict(data["device"]), protocol=dict(data["protocol"]),
            entries={str(key): EntryStats(float(v["median_ms"]), float(v["p25_ms"]), float(v["p75_ms"]))
                     for key, v in data["entries"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise TableError(f"{path}: malformed table ({type(error).__name__}: {error}): {redo}") from None
    if table.space_fingerprint != space.fingerprint() or table.resolution != space.resolution:
        raise TableError(
            f"{path}: measured for space {table.space_name} ({table.space_fingerprint}) at {table.resolution} px, "
            f"this space is {space.name} ({space.fingerprint()}) at {space.resolution} px: {redo}")
    missing = [key for key in required_keys(space) if key not in table.entries]
    if missing:
        raise TableError(f"{path}: {len(missing)} entries missing (first: {missing[0]!r}): {redo}")
    for key, stats in table.entries.items():
        if not all(math.isfinite(v) and v > 0 for v in vars(stats).values()):
            raise TableError(f"{path}: entry {key!r} has a non-positive or NaN latency {vars(stats)}: {redo}")
    return table
