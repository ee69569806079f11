"""The device a latency belongs to: what kind, how many threads, at what precision, and what exactly.

    {"kind": "cpu", "threads": 1, "precision": "float32",        # what the user chose
     "provider": "CPUExecutionProvider", "onnxruntime": "1.32.0",  # what the runtime reported (identity)
     "cpu": "AMD EPYC", "platform": "…", "date": "…", "batch_size": 1, …}

Precision is part of the device: an int8 table prices the models measuring/quantize.py writes, and
a float32 table the float models (a table without "precision", written before int8 tables, is float32).
Which identity fields make two devices the same is measuring/device_identity.py's question. This file
imports nothing heavy, so the command line can offer its choices without loading torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

DeviceKind = Literal["cpu", "gpu", "mobile"]
DEVICE_KINDS: tuple[DeviceKind, ...] = ("cpu", "gpu", "mobile")
Precision = Literal["float32", "int8"]
FLOAT32, INT8 = "float32", "int8"
PRECISIONS: tuple[Precision, ...] = (FLOAT32, INT8)
MAX_THREADS = 1024  # more intra-op threads than any machine has cores: ONNX Runtime would start them all


class DeviceRecordError(ValueError):
    """A recorded device no measurement gives; the reader names the file."""


@dataclass(frozen=True)
class Device:
    kind: DeviceKind
    threads: int  # ONNX Runtime's intra-op threads
    precision: Precision = FLOAT32
    identity: dict = field(default_factory=dict)  # everything else the runtime recorded (module docstring)

    def to_json(self) -> dict:
        return {"kind": self.kind, "threads": self.threads, "precision": self.precision, **self.identity}

    def get(self, name: str):
        """A recorded field by name (kind, threads, precision or an identity field); None when absent."""
        return {"kind": self.kind, "threads": self.threads, "precision": self.precision}.get(name, self.identity.get(name))

    @classmethod
    def from_json(cls, data: dict) -> Device:
        """Raises DeviceRecordError for a kind, thread count or precision no measurement gives."""
        if not isinstance(data, dict):
            raise DeviceRecordError(f"the device is a {type(data).__name__}, not a mapping")
        kind, threads, precision = data.get("kind"), data.get("threads", 1), data.get("precision", FLOAT32)
        if kind not in DEVICE_KINDS:
            raise DeviceRecordError(f"device kind {kind!r} is none of {', '.join(DEVICE_KINDS)}")
        if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
            raise DeviceRecordError(f"device threads {threads!r} is not a whole number in 1-{MAX_THREADS}")
        if precision not in PRECISIONS:
            raise DeviceRecordError(f"device precision {precision!r} is none of {', '.join(PRECISIONS)}")
        identity = {name: value for name, value in data.items() if name not in ("kind", "threads", "precision")}
        broken = next((name for name, value in identity.items()
                       if isinstance(value, float) and not math.isfinite(value)), None)
        if broken:
            raise DeviceRecordError(f"device field {broken!r} is {identity[broken]}")
        return cls(kind, threads, precision, identity)
