"""arch.json: an arch and where it came from, the one hand-off between the stages.

    DeriveTry    one derive of the search's correction loop (derive/on_device.py), measured or not
    Provenance   where an arch came from: stage, checkpoint, table, target and window, what the
                 table predicted, what was measured or why nothing was, the derive's tries, the
                 search's argmax beside its answer, or the selection that chose it
    ArchRecord   an arch and its provenance: the file arch.json

A provenance refers to its table by latency/table_ref.py's TableRef and to what was measured by
measuring/measure.py's Measurement.

One definition per record, so a field does not depend on which stage wrote it and a reader does
not guess with `.get(key, default)`: a field a stage has nothing for holds the record's default.
arch.json, version 3:

    {"format": "hwnas.arch", "version": 3,
     "space": {"name": "demo", "fingerprint": "8cd7…", "definition": {…the space file…}},
     "ops": ["mb_k3_e6", "zero", …],
     "provenance": {"stage": "search", "checkpoint": "/abs/…/last.ckpt", "table": {"path", "sha256", "device"},
                    "target_ms": 0.08, "floor": 0.9, "predicted_ms": 0.0791,
                    "measured_ms": 0.0783, "measured_at_table_speed_ms": 0.0779, "target_met": true,
                    "measurement": {…} | null, "not_measured_because": null | "…",
                    "tries": […], "tries_stopped_because": null, "argmax": {"ops", "predicted_ms"} | null,
                    "selection": {"method", "score", "arch_split_accuracy"} | null,
                    "caps": {"max_weight_mb", "max_activation_kb"} | null,
                    "final_check": {"candidates", "rungs", "winner", "seconds"} | null}}

`measured_ms` (raw median here), `measured_at_table_speed_ms` (÷ the speed now of the table's
subnets nearest its size, measuring/measure.py) and `target_met` are written for people reading the file; they are computed from
`measurement`, never read back. Paths are absolute, so a record means the same from any directory.
Versions 1 (no provenance) and 2 (a plain dict) still load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hwnas.files.atomic import write_json
from hwnas.files.numbers import fraction, milliseconds, non_negative
from hwnas.files.strict import read_json
from hwnas.latency.table_ref import TableRef
from hwnas.measuring.measure import Measurement
from hwnas.net.arch import Arch, ArchError, arch_from_json

DEFAULT_FLOOR = 0.9  # an arch's window is [0.9 T, T] unless a recipe says otherwise


def in_window(latency_ms: float, floor: float, target_ms: float) -> bool:
    """Whether a latency lies in the derive's window [floor · T, T] (all in ms)."""
    return floor * target_ms <= latency_ms <= target_ms


FORMAT = "hwnas.arch"
VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


@dataclass(frozen=True)
class DeriveTry:
    ops: tuple[str, ...]
    predicted_ms: float
    log_probability: float  # Σ_l log p_l(op_l) under the search's distribution
    window_ms: tuple[float, float]  # the window the derive looked in (the budget corrected after a measurement)
    measurement: Measurement | None = None

    def to_json(self) -> dict:
        m = self.measurement
        return {"ops": list(self.ops), "predicted_ms": self.predicted_ms, "log_probability": self.log_probability,
                "window_ms": list(self.window_ms), "measured_ms": m.median_ms if m else None,
                "measured_at_table_speed_ms": m.at_table_speed_ms if m else None,
                "measurement": m.to_json() if m else None}

    @classmethod
    def from_json(cls, data: dict) -> DeriveTry:
        measurement = data.get("measurement")  # version 2 kept a try's figures only: read as unmeasured
        return cls(tuple(data["ops"]), milliseconds(data["predicted_ms"], "a try's predicted_ms"),
                   float(data["log_probability"]), tuple(non_negative(ms, "a try's window_ms") for ms in data["window_ms"]),
                   Measurement.from_json(measurement) if measurement else None)


@dataclass(frozen=True)
class Provenance:
    stage: str  # search | derive | select | retrain's input kept | a benchmark's name
    checkpoint: str | None = None  # the search checkpoint the arch was chosen from
    table: TableRef | None = None
    target_ms: float | None = None
    floor: float = DEFAULT_FLOOR
    predicted_ms: float | None = None
    measurement: Measurement | None = None
    not_measured_because: str | None = None
    tries: tuple[DeriveTry, ...] = ()
    tries_stopped_because: str | None = None
    argmax: dict | None = None  # the search's most probable arch beside its answer: {"ops", "predicted_ms"}
    selection: dict | None = None  # select's or front's choice: {"method", "score", "arch_split_accuracy"}
    caps: dict | None = None  # memory caps the arch was chosen under: {"max_weight_mb", "max_activation_kb"}
    final_check: dict | None = None  # the contest that chose it (final_check/contest.py's Contest.to_json)

    @property
    def target_met(self) -> bool | None:
        """The measurement at the table's speed inside [floor · T, T]; None when nothing was measured."""
        if self.measurement is None or self.target_ms is None:
            return None
        return in_window(self.measurement.at_table_speed_ms, self.floor, self.target_ms)

    def to_json(self) -> dict:
        m = self.measurement
        return {"stage": self.stage, "checkpoint": self.checkpoint,
                "table": self.table.to_json() if self.table else None, "target_ms": self.target_ms,
                "floor": self.floor, "predicted_ms": self.predicted_ms,
                "measured_ms": m.median_ms if m else None,
                "measured_at_table_speed_ms": m.at_table_speed_ms if m else None, "target_met": self.target_met,
                "measurement": m.to_json() if m else None, "not_measured_because": self.not_measured_because,
                "tries": [t.to_json() for t in self.tries], "tries_stopped_because": self.tries_stopped_because,
                "argmax": self.argmax, "selection": self.selection, "caps": self.caps, "final_check": self.final_check}

    @classmethod
    def from_json(cls, data: dict) -> Provenance:
        """Version 3's provenance, or version 2's dict (select wrote `method` and `arch_split_accuracy`).
        Raises ValueError for a figure that cannot be (a target of `true`, a floor of 5)."""
        selection = data.get("selection")
        if selection is None and "method" in data:
            selection = {"method": data["method"], "arch_split_accuracy": data.get("arch_split_accuracy")}
        floor = DEFAULT_FLOOR if data.get("floor") is None else fraction(data["floor"], "floor")  # select writes 0.0
        if floor >= 1:
            raise ValueError(f"floor is {floor}: the window [floor · T, T] would be empty")
        return cls(
            stage=str(data.get("stage", "unknown")), checkpoint=data.get("checkpoint"),
            table=TableRef.from_json(data["table"]) if data.get("table") else None,
            target_ms=_optional_ms(data.get("target_ms"), "target_ms"), floor=floor,
            predicted_ms=_optional_ms(data.get("predicted_ms"), "predicted_ms"),
            measurement=Measurement.from_json(data["measurement"]) if data.get("measurement") else None,
            not_measured_because=data.get("not_measured_because"),
            tries=tuple(DeriveTry.from_json(t) for t in data.get("tries") or ()),
            tries_stopped_because=data.get("tries_stopped_because"), argmax=data.get("argmax"), selection=selection,
            caps=data.get("caps"), final_check=data.get("final_check"))


def _optional_ms(value, what: str) -> float | None:
    return None if value is None else milliseconds(value, what)


@dataclass(frozen=True)
class ArchRecord:
    arch: Arch
    provenance: Provenance = field(default_factory=lambda: Provenance("unknown"))

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, **self.arch.to_json(), "provenance": self.provenance.to_json()}

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> ArchRecord:
        """Read and check an arch.json; every failure is one ArchError line naming the file."""
        redo = "derive it again with `hwnas search`"
        data = read_json(path, error=ArchError, missing="no such arch file (a search run writes RUN_DIR/arch.json)",
                         redo=redo)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") not in READABLE_VERSIONS:
            versions = ", ".join(map(str, READABLE_VERSIONS))
            raise ArchError(f"{path}: not an hwnas arch file (versions {versions}): {redo}")
        arch = arch_from_json(data, path, redo)
        try:
            provenance = Provenance.from_json(dict(data.get("provenance") or {"stage": "unknown"}))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ArchError(f"{path}: malformed provenance ({type(error).__name__}: {error}): {redo}") from None
        return cls(arch, provenance)
