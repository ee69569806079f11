"""The model card: what a user needs to trust an exported model on the target, as a typed record.

model_card.json (version 2; version 1, written by 7c7bfa7, has the same layout and still loads)::

    {"format": "hwnas.model_card", "version": 2, "date",
     "model":    {"onnx", "ort", "opset", "ort_optimizations", "input": ["batch", C, H, W], "parameters"},
     "arch":     {"space", "fingerprint", "ops"},
     "memory":   {"weight_mb", "peak_activation_kb", "caps", "counted"},
     "accuracy": {"test", "dataset"},
     "latency":  {"target_ms", "target_window_ms", "target_met", "precision", "model", "target_judged_on",
                  "predicted_ms", "predicted_now_ms", "predicted_from": {TableRef…, "method",
                  "changed_since_chosen", "reference_ms": {"table", "now"}}, "measured_ms",
                  "measured_at_table_speed_ms", "measured": Measurement | null, "measured_float_ms",
                  "measured_ort_ms", "deploy", "prediction_error_pct", "prediction_device_note"},
     "int8":     null | {"file", "calibration_batches", "test_accuracy", "float_test_accuracy", "measured_ms",
                         "speedup_vs_onnx"},
     "provenance": {…arch.json's provenance…},
     "checks":   {"onnx_checker": "passed", "ort_vs_torch_max_abs_diff"}}

`target_met` judges the measurement at the table's speed (the raw median ÷ the speed now of the
table's subnets nearest its size, median of three runs: measuring/measure.py) inside [floor · T, T];
the card shows the raw figure too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwnas.files.atomic import write_json
from hwnas.files.numbers import count, fraction, milliseconds
from hwnas.files.strict import read_record
from hwnas.latency.table_ref import TableRef
from hwnas.measuring.measure import Measurement
from hwnas.records.arch_record import Provenance, in_window

FORMAT, VERSION = "hwnas.model_card", 2
JUDGED_ON = ("measured_at_table_speed_ms: median over runs of the raw median / the speed now of the table's subnets "
             "nearest its size (now / in the table), so that the machine's speed this minute does not decide")
MEMORY_COUNTED = "float32, batch 1, BatchNorm folded (net/memory.py)"


@dataclass(frozen=True)
class Int8Result:
    file: str
    calibration_batches: int
    test_accuracy: float
    float_test_accuracy: float  # model.onnx on the same images, same runtime
    measured_ms: float
    speedup_vs_onnx: float

    @classmethod
    def from_json(cls, data: dict) -> Int8Result:
        return cls(str(data["file"]), count(data["calibration_batches"], "int8 calibration_batches", 1),
                   fraction(data["test_accuracy"], "int8 test_accuracy"),
                   fraction(data["float_test_accuracy"], "int8 float_test_accuracy"),
                   milliseconds(data["measured_ms"], "int8 measured_ms"), float(data["speedup_vs_onnx"]))


@dataclass(frozen=True)
class CardLatency:
    precision: str  # the target, prediction and measurement are of a model at this precision
    judged_model: str | None  # the file the target is judged on; None: not written (an int8 table without --int8)
    predicted_ms: float
    predicted_now_ms: float  # at the speed the judged model ran: × its raw / table's-speed figure
    table: TableRef
    method: str  # how the table predicts
    changed_since_chosen: str | None
    reference_table_ms: float
    reference_now_ms: float
    measurement: Measurement | None  # of the judged model
    measured_float_ms: float
    measured_ort_ms: float
    deploy: str  # which file to deploy, and why
    comparable: bool  # the table's device is this machine, so measurement and prediction are compared
    note: str | None  # why the prediction and the measurement are not compared, if they are not


@dataclass(frozen=True)
class ModelCard:
    date: str
    files: dict  # {"onnx", "ort"} file names in the export folder
    opset: int
    ort_optimizations: str
    input_shape: tuple  # ("batch", C, H, W)
    parameters: int  # weights as deployed (net/memory.py)
    space: str
    fingerprint: str
    ops: tuple[str, ...]
    weight_mb: float
    peak_activation_kb: float
    test_accuracy: float
    dataset: str
    latency: CardLatency
    int8: Int8Result | None
    provenance: Provenance
    max_abs_diff: float  # ONNX Runtime against PyTorch on the logits

    @property
    def target_met(self) -> bool | None:
        """The judged model's measurement at the table's speed inside [floor · T, T]; None when not comparable."""
        measured, target = self.latency.measurement, self.provenance.target_ms
        if measured is None or target is None or not self.latency.comparable:
            return None
        return in_window(measured.at_table_speed_ms, self.provenance.floor, target)

    def to_json(self) -> dict:
        lat, target, floor = self.latency, self.provenance.target_ms, self.provenance.floor
        m = lat.measurement
        return {
            "format": FORMAT, "version": VERSION, "date": self.date,
            "model": {**self.files, "opset": self.opset, "ort_optimizations": self.ort_optimizations,
                      "input": list(self.input_shape), "parameters": self.parameters},
            "arch": {"space": self.space, "fingerprint": self.fingerprint, "ops": list(self.ops)},
            "memory": {"weight_mb": self.weight_mb, "peak_activation_kb": self.peak_activation_kb,
                       "caps": self.provenance.caps, "counted": MEMORY_COUNTED},
            "accuracy": {"test": self.test_accuracy, "dataset": self.dataset},
            "latency": {
                "target_ms": target, "target_window_ms": [floor * target, target] if target else None,
                "target_met": self.target_met, "precision": lat.precision, "model": lat.judged_model,
                "target_judged_on": JUDGED_ON, "predicted_ms": lat.predicted_ms, "predicted_now_ms": lat.predicted_now_ms,
                "predicted_from": {**lat.table.to_json(), "method": lat.method,
                                   "changed_since_chosen": lat.changed_since_chosen,
                                   "reference_ms": {"table": lat.reference_table_ms, "now": lat.reference_now_ms}},
                "measured_ms": m.median_ms if m else None, "measured_at_table_speed_ms": m.at_table_speed_ms if m else None,
                "measured": m.to_json() if m else None, "measured_float_ms": lat.measured_float_ms,
                "measured_ort_ms": lat.measured_ort_ms, "deploy": lat.deploy,
                "prediction_error_pct": (lat.predicted_now_ms / m.median_ms - 1) * 100 if m and lat.comparable else None,
                "prediction_device_note": lat.note},
            "int8": None if self.int8 is None else vars(self.int8),
            "provenance": self.provenance.to_json(),
            "checks": {"onnx_checker": "passed", "ort_vs_torch_max_abs_diff": self.max_abs_diff},
        }

    def save(self, path: str | Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        with read_record(path, FORMAT, (1, VERSION), "model card",
                           "no model card (`hwnas export` writes EXPORT/model_card.json)", "export again") as data:
            model, lat = data["model"], data["latency"]
            source = lat["predicted_from"]
            latency = CardLatency(
                str(lat["precision"]), lat["model"], milliseconds(lat["predicted_ms"], "predicted_ms"),
                milliseconds(lat["predicted_now_ms"], "predicted_now_ms"), TableRef.from_json(source),
                str(source["method"]), source["changed_since_chosen"],
                milliseconds(source["reference_ms"]["table"], "reference_ms.table"),
                milliseconds(source["reference_ms"]["now"], "reference_ms.now"),
                Measurement.from_json(lat["measured"]) if lat["measured"] else None,
                milliseconds(lat["measured_float_ms"], "measured_float_ms"),
                milliseconds(lat["measured_ort_ms"], "measured_ort_ms"), str(lat["deploy"]),
                lat["prediction_error_pct"] is not None, lat["prediction_device_note"])
            return cls(str(data["date"]), {"onnx": str(model["onnx"]), "ort": str(model["ort"])}, int(model["opset"]),
                       str(model["ort_optimizations"]), tuple(model["input"]),
                       count(model["parameters"], "parameters", 1), str(data["arch"]["space"]),
                       str(data["arch"]["fingerprint"]), tuple(data["arch"]["ops"]),
                       float(data["memory"]["weight_mb"]), float(data["memory"]["peak_activation_kb"]),
                       fraction(data["accuracy"]["test"], "accuracy.test"), str(data["accuracy"]["dataset"]),
                       latency, Int8Result.from_json(data["int8"]) if data["int8"] else None,
                       Provenance.from_json(data["provenance"]), float(data["checks"]["ort_vs_torch_max_abs_diff"]))
