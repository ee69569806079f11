"""The latency lookup table: format, validation, lookup and prediction.

A table is JSON, never pickle (`latency_tables/<space>-<device>.json`)::

    {"format": "hwnas.latency_table", "version": 3,
     "space": {"name": "demo", "fingerprint": "8cd7…", "resolution": 16, "definition": {…}},
     "device": {"kind": "cpu", "threads": 1, "precision": "float32", "provider": "CPUExecutionProvider",
                "batch_size": 1, "onnxruntime": "1.32.0", "cpu": "…", "date": "…"},  # latency/device.py
     "protocol": {"rounds": 300, "warmup_rounds": 30, …},
     "entries": {"mb_k3_e6 16x16x16->24 s2": {"median_ms": 0.041, "p25_ms": 0.039, "p75_ms": 0.044}, …},
     "reference": {"ops": […], "median_ms": 0.071},      # a fixed subnet timed in the same rounds
     "calibration": {"scale": …, "per_op_ms": …, "per_weight_mb_ms": …, "offset_ms": …, "fitted_on": […]} | null,
     "fidelity": {…} | null,                              # written by `hwnas validate-table`
     "transferred_from": {"path", "sha256", "device"} | null}  # `hwnas onboard`: whose entries these are

Entries are keyed by what the op computes (op, input side, channels, stride), so layers of
the same shape share one entry; `zero` (and `skip` where it is identity) costs 0 ms and has none. The fixed parts (stem and
head) have entries too. Predictions are calibrated when the table has a calibration
(calibration.py says why the raw sum is not a prediction), and can be rescaled to the
machine's speed now by timing its own subnets again (measuring/measure.py). A table read from a file
carries its TableRef (`ref`): the path and the hash of the content it was parsed from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from hwnas.files.atomic import write_json
from hwnas.errors import HwnasError
from hwnas.files.numbers import milliseconds
from hwnas.files.strict import read_json
from hwnas.latency.calibration import Calibration, CalibrationPoint
from hwnas.latency.device import Device, DeviceRecordError, Precision
from hwnas.latency.table_ref import TableRef, prediction_hash
from hwnas.net.arch import Arch
from hwnas.net.memory import layer_weight_mb
from hwnas.net.space import LayerShape, SearchSpace, SpaceError, parse_op, parse_space

FORMAT = "hwnas.latency_table"
VERSION = 3


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
        keys += [layer_key(op, layer.shape) for op in layer.candidates if not parse_op(op).runs_nothing(layer.shape)]
    keys.append(head_key(space))
    return list(dict.fromkeys(keys))


def arch_weight_mb(arch: Arch) -> float:
    """MB of float32 weights of the subnet's searchable layers as deployed (a calibration feature)."""
    return sum(layer_weight_mb(op, layer.shape) for layer, op in zip(arch.space.layers(), arch.ops))


def arch_keys(arch: Arch) -> list[str]:
    """The entries a subnet uses: stem, every non-zero layer, head."""
    space = arch.space
    layers = [layer_key(op, layer.shape) for layer, op in zip(space.layers(), arch.ops)
              if not parse_op(op).runs_nothing(layer.shape)]
    return [stem_key(space), *layers, head_key(space)]


@dataclass(frozen=True)
class EntryStats:
    median_ms: float
    p25_ms: float
    p75_ms: float


@dataclass
class LatencyTable:
    space: SearchSpace
    device: Device
    protocol: dict  # how the entries were timed (rounds, warm-up, order)
    entries: dict[str, EntryStats]
    reference_ops: tuple[str, ...]  # the fixed reference subnet…
    reference_ms: float  # …and its median, timed in the same rounds as the entries
    calibration: Calibration | None = None
    fidelity: dict | None = field(default=None)
    # An onboarded table (profile/onboard.py) keeps another device's entries, calibrated for this one on
    # subnets measured here: that table's path, sha256 and device. None for a full profile.
    transferred_from: TableRef | None = None
    ref: TableRef | None = None  # the file it was read from (load_table); None for a table not saved yet

    @property
    def precision(self) -> Precision:
        """The precision its models were timed at: "float32" or "int8" (measuring/quantize.py)."""
        return self.device.precision

    def to_json(self) -> dict:
        s = self.space
        return {
            "format": FORMAT, "version": VERSION,
            "space": {"name": s.name, "fingerprint": s.fingerprint(), "resolution": s.resolution,
                      "definition": s.to_dict()},
            "device": self.device.to_json(), "protocol": self.protocol,
            "entries": {key: vars(stats) for key, stats in self.entries.items()},
            "reference": {"ops": list(self.reference_ops), "median_ms": self.reference_ms},
            "calibration": self.calibration.to_json() if self.calibration else None,
            "fidelity": self.fidelity,
            "transferred_from": self.transferred_from.to_json() if self.transferred_from else None,
        }

    @property
    def method(self) -> str:
        """How predictions are made, in words (printed by `hwnas predict`)."""
        if self.calibration is None:  # a published table says how its sum is meant (profile/published.py)
            return self.protocol.get("method", "uncalibrated sum of per-op medians")
        c = self.calibration
        fit = f"; |error| on them mean {c.fit_error_pct['mean']:.1f}%, max {c.fit_error_pct['max']:.1f}%" \
            if c.fit_error_pct else ""
        fallback = f" ({len(c.terms)} of 4 terms: {c.note})" if c.note else ""
        origin = self.transferred_from.device if self.transferred_from else None
        source = f"entries of {origin.get('cpu') or origin.get('device_label')}'s table, " if origin else ""
        return (f"{source}calibrated on {len(c.points)} measured subnets: {c.scale:.3f} x sum "
                f"{c.per_op_ms * 1000:+.1f} us per op {c.per_weight_mb_ms * 1000:+.1f} us per weight MB "
                f"{c.offset_ms * 1000:+.1f} us{fit}{fallback}")

    def sum_ms(self, arch: Arch) -> float:
        """Raw sum of the table's medians for this arch, in ms."""
        return sum(self.entries[key].median_ms for key in arch_keys(arch))

    def op_cost_ms(self, op: str, shape: LayerShape, calibrated: bool = True) -> float:
        """The cost in ms of one candidate at one layer's shape (zero, identity skip: 0 ms)."""
        if parse_op(op).runs_nothing(shape):
            return 0.0
        entry = self.entries[layer_key(op, shape)].median_ms
        if calibrated and self.calibration:
            return self.calibration.op_cost_ms(entry, layer_weight_mb(op, shape))
        return entry

    def layer_costs_ms(self, calibrated: bool = True) -> list[list[float]]:
        """Per searchable layer, the cost in ms of each candidate (zero: 0 ms)."""
        return [[self.op_cost_ms(op, layer.shape, calibrated) for op in layer.candidates]
                for layer in self.space.layers()]

    def fixed_ms(self, calibrated: bool = True) -> float:
        """Cost in ms of the parts that are not searched: stem and head (and the calibration offset)."""
        stem, head = self.entries[stem_key(self.space)].median_ms, self.entries[head_key(self.space)].median_ms
        return self.calibration.fixed_cost_ms(stem, head) if calibrated and self.calibration else stem + head

    def predict_ms(self, arch: Arch, calibrated: bool = True) -> float:
        """Predicted latency of `arch` in ms at the machine speed the table was measured at."""
        self._check_arch(arch)
        return self.fixed_ms(calibrated) + sum(self.op_cost_ms(op, layer.shape, calibrated)
                                               for layer, op in zip(self.space.layers(), arch.ops))

    def latency_range_ms(self, calibrated: bool = True) -> tuple[float, float]:
        """(fastest, slowest) predicted latency in ms over every arch of the space."""
        costs = self.layer_costs_ms(calibrated)
        fixed = self.fixed_ms(calibrated)
        return fixed + sum(map(min, costs)), fixed + sum(map(max, costs))

    def extreme_archs(self) -> tuple[Arch, Arch]:
        """(fastest, slowest) arch: per layer its cheapest and its dearest candidate (costs add up per layer)."""
        costs = self.layer_costs_ms()

        def pick(choose) -> Arch:
            return Arch(self.space, tuple(layer.candidates[choose(range(len(c)), key=c.__getitem__)]
                                          for layer, c in zip(self.space.layers(), costs)))
        return pick(min), pick(max)

    def reference_arch(self) -> Arch:
        return Arch(self.space, self.reference_ops)

    def calibration_point(self, arch: Arch, measured_ms: float) -> CalibrationPoint:
        """What the calibration is fitted on for one subnet measured whole (calibration.py's features)."""
        return CalibrationPoint(arch.ops, self.sum_ms(arch), len(arch_keys(arch)), arch_weight_mb(arch), measured_ms)

    def _check_arch(self, arch: Arch) -> None:
        if arch.space.fingerprint() != self.space.fingerprint():
            raise TableError(f"the table was measured for space {self.space.name} ({self.space.fingerprint()}), "
                             f"the arch belongs to {arch.space.name} ({arch.space.fingerprint()}): "
                             f"profile its space with `hwnas profile`")


def save_table(table: LatencyTable, path: str | Path) -> None:
    write_json(path, table.to_json())


def load_table(path: str | Path, space: SearchSpace | None = None) -> LatencyTable:
    """Read a table and check it (and, if given, that it fits `space`); every failure is one
    line naming the table and what to do."""
    path = Path(path)
    redo = f"re-run `hwnas profile --space <space.yaml> --out {path}`"
    data = read_json(path, error=TableError, missing=f"no such latency table: {redo}, or pass the table's path",
                     redo=redo)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TableError(f"{path}: not an hwnas latency table: {redo}")
    if data.get("version") != VERSION:
        raise TableError(f"{path}: table format version {data.get('version')!r}, this hwnas reads {VERSION}: {redo}")
    try:
        table_space = parse_space(data["space"]["definition"], f"{path} (space definition)")
        device = Device.from_json(data["device"])
        table = LatencyTable(
            space=table_space, device=device, protocol=dict(data["protocol"]),
            entries={str(key): _entry(v) for key, v in data["entries"].items()},
            reference_ops=tuple(data["reference"]["ops"]),
            reference_ms=milliseconds(data["reference"]["median_ms"], "the reference's median_ms"),
            calibration=Calibration.from_json(data["calibration"]) if data.get("calibration") else None,
            fidelity=data.get("fidelity"),
            transferred_from=TableRef.from_json(data["transferred_from"]) if data.get("transferred_from") else None,
            ref=TableRef(str(path.resolve()), prediction_hash(data), device),
        )
        recorded = (str(data["space"]["fingerprint"]), int(data["space"]["resolution"]))
    except (KeyError, TypeError, ValueError, AttributeError, SpaceError, DeviceRecordError) as error:
        raise TableError(f"{path}: malformed table ({type(error).__name__}: {error}): {redo}") from None
    if recorded != (table_space.fingerprint(), table_space.resolution):
        raise TableError(f"{path}: the space definition does not match its recorded fingerprint: {redo}")
    if space is not None and (space.fingerprint(), space.resolution) != recorded:
        raise TableError(
            f"{path}: measured for space {table_space.name} ({recorded[0]}) at {recorded[1]} px, "
            f"this space is {space.name} ({space.fingerprint()}) at {space.resolution} px: profile this space into "
            f"its own table (`hwnas profile --space <space.yaml> --out latency_tables/local/{space.name}-cpu.json`), "
            f"or pass the table of this space")
    missing = [key for key in required_keys(table_space) if key not in table.entries]
    if missing:
        raise TableError(f"{path}: {len(missing)} entries missing (first: {missing[0]!r}): {redo}")
    return table


def _entry(stats: dict) -> EntryStats:
    """An entry's quartiles, each a latency, in order: p25 ≤ median ≤ p75."""
    entry = EntryStats(*(milliseconds(stats[name], name) for name in ("median_ms", "p25_ms", "p75_ms")))
    if not entry.p25_ms <= entry.median_ms <= entry.p75_ms:
        raise ValueError(f"quartiles out of order ({entry.p25_ms} ≤ {entry.median_ms} ≤ {entry.p75_ms} does not hold)")
    return entry
