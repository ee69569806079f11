"""Measure whole networks on this machine beside a table's reference subnet, with the table's protocol.

A raw measurement on these machines moves with the CPU's speed state (±25% within minutes,
docs/latency.md), so a measurement is only compared with a table's prediction in the table's speed
state: the table's reference subnet is timed in the same interleaved rounds, and

    measured at the table's speed = measured · reference(table) / reference(now)

Derive's correction loop, the model card's `target_met`, onboarding and `predict --now` all
measure through `measure_beside_reference`, so they export and time the same way.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from hwnas.errors import HwnasError
from hwnas.files.numbers import count, milliseconds
from hwnas.latency.table import LatencyTable
from hwnas.measuring.quantize import export_deployed
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata, time_interleaved
from hwnas.net.arch import Arch, build_subnet
from hwnas.net.space import SearchSpace

log = logging.getLogger(__name__)
REFERENCE = "reference"


@dataclass(frozen=True)
class Measurement:
    median_ms: float  # raw, this machine in its speed state of the minute
    p25_ms: float
    p75_ms: float
    reference_now_ms: float  # the table's reference subnet, timed in the same rounds
    reference_table_ms: float  # the same subnet's median in the table
    device: dict  # where and with what (timing.runtime_metadata)
    protocol: dict  # rounds, warm-up rounds, order
    batch_size: int = 1

    @property
    def at_table_speed_ms(self) -> float:
        """The median rescaled to the machine's speed when the table was measured (measuring/measure.py)."""
        return self.median_ms * self.reference_table_ms / self.reference_now_ms

    def to_json(self) -> dict:
        return {"median_ms": self.median_ms, "at_table_speed_ms": self.at_table_speed_ms, "p25_ms": self.p25_ms,
                "p75_ms": self.p75_ms, "reference_now_ms": self.reference_now_ms,
                "reference_table_ms": self.reference_table_ms, "batch_size": self.batch_size, "device": self.device,
                "protocol": self.protocol}

    @classmethod
    def from_json(cls, data: dict) -> Measurement:
        """Raises ValueError for a figure no measurement gives (a reference of 0 ms made every later figure
        a division by zero)."""
        median, now = milliseconds(data["median_ms"], "median_ms"), milliseconds(data["reference_now_ms"],
                                                                                  "reference_now_ms")
        # version 2 stored the rescaled median, not the table's reference it was rescaled by
        table = data["reference_table_ms"] if "reference_table_ms" in data else \
            milliseconds(data["at_table_speed_ms"], "at_table_speed_ms") * now / median
        return cls(median, milliseconds(data["p25_ms"], "p25_ms"), milliseconds(data["p75_ms"], "p75_ms"), now,
                   milliseconds(table, "reference_table_ms"), dict(data["device"]), dict(data["protocol"]),
                   count(data.get("batch_size", 1), "batch_size", 1))


def example_input(space: SearchSpace, batch: int = 1, seed: int | None = None) -> torch.Tensor:
    """A random input of the space's shape, (batch, C, H, W)."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(batch, space.in_channels, space.resolution, space.resolution, generator=generator)


def export_subnets(archs: dict[str, Arch], folder: str | Path, precision: str) -> dict[str, Path]:
    """Export each (untrained) subnet as the final model is deployed at `precision`: name → .onnx in `folder`."""
    return {name: export_deployed(build_subnet(arch), example_input(arch.space), Path(folder) / f"{name}.onnx",
                                  precision) for name, arch in archs.items()}


@dataclass(frozen=True)
class SideBySide:
    """What one interleaved measurement gave: each model's Measurement and the reference's median now (ms)."""
    measurements: dict[str, Measurement]
    reference_now_ms: float


def measure_beside_reference(models: dict[str, str | Path | Arch], table: LatencyTable, *, device: str | None = None,
                             threads: int | None = None, rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS,
                             seed: int = 0, progress: str | None = None) -> SideBySide:
    """Time the models (name → an .onnx/.ort file, or an Arch to export untrained at the table's
    precision) and the table's reference subnet in the same interleaved rounds, with the table's
    device and threads unless told otherwise. With `progress`, the rounds' progress is logged, each line
    after that label."""
    device = device or table.device.kind
    threads = threads or table.device.threads
    with tempfile.TemporaryDirectory(prefix="hwnas-measure-") as folder:
        archs = {name: model for name, model in models.items() if isinstance(model, Arch)}
        exported = export_subnets({**archs, REFERENCE: table.reference_arch()}, folder, table.precision)
        paths = {name: str(path) for name, path in {**models, **exported}.items()}
        stats = time_interleaved(paths, device=device, threads=threads, rounds=rounds, warmup_rounds=warmup_rounds,
                                 seed=seed, log=(lambda line: log.info(f"{progress}{line}")) if progress is not None else None)
    metadata = runtime_metadata(device, threads)
    protocol = {"rounds": rounds, "warmup_rounds": warmup_rounds,
                "order": f"{INTERLEAVED}; with the table's reference subnet"}
    reference_now_ms = stats[REFERENCE]["median_ms"]
    return SideBySide({name: Measurement(stats[name]["median_ms"], stats[name]["p25_ms"], stats[name]["p75_ms"],
                                         reference_now_ms, table.reference_ms, metadata, protocol)
                       for name in models}, reference_now_ms)


def measure_onnx(path: str | Path, *, device: str = "cpu", threads: int = 1, rounds: int = ROUNDS,
                 warmup_rounds: int = WARMUP_ROUNDS, batch_size: int = 1, seed: int = 0) -> dict:
    """`hwnas measure`: one whole model timed with the tables' protocol, {"median_ms", "p25_ms", "p75_ms"}
    plus the batch size, device and protocol they were measured with."""
    if not Path(path).is_file():
        raise HwnasError(f"{path}: no such ONNX file")
    metadata = runtime_metadata(device, threads)
    try:
        stats = time_interleaved({"model": str(path)}, device=device, threads=threads, rounds=rounds,
                                 warmup_rounds=warmup_rounds, batch_size=batch_size, seed=seed)["model"]
    except ValueError as error:  # random_input: not one float input, or a fixed batch other than 1
        raise HwnasError(f"{path}: {error}: `hwnas measure` times image models with one float input and a batch "
                         f"axis of 1 or dynamic, as `hwnas export` writes them") from None
    log.info(f"{stats['median_ms']:.4f} ms measured (median; p25 {stats['p25_ms']:.4f}, p75 {stats['p75_ms']:.4f}; "
             f"{device}, {threads} thread(s))")
    return {**stats, "batch_size": batch_size, "device": metadata,
            "protocol": {"rounds": rounds, "warmup_rounds": warmup_rounds, "order": f"{INTERLEAVED}; one model"}}


def reference_now_ms(table: LatencyTable) -> float:
    """The table's reference subnet timed now on this machine, with the table's protocol (ms)."""
    return measure_beside_reference({}, table).reference_now_ms
