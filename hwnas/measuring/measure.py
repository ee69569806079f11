"""Measure whole networks on this machine beside a table's reference subnet, with the table's protocol.

A raw measurement on these machines moves with the CPU's speed state (±25% within minutes,
DESIGN.md), so a measurement is only compared with a table's prediction in the table's speed
state: the table's reference subnet is timed in the same interleaved rounds, and

    measured at the table's speed = measured · reference(table) / reference(now)

Derive's correction loop, the model card's `target_met`, onboarding and `predict --now` all
measure through `measure_beside_reference`, so they export and time the same way.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from hwnas.latency.table import LatencyTable
from hwnas.measuring.quantize import export_deployed
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata, time_interleaved
from hwnas.net.arch import Arch, build_subnet
from hwnas.net.space import SearchSpace
from hwnas.records.arch_record import Measurement

REFERENCE = "reference"


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
                             seed: int = 0, log: Callable[[str], None] | None = None) -> SideBySide:
    """Time the models (name → an .onnx/.ort file, or an Arch to export untrained at the table's
    precision) and the table's reference subnet in the same interleaved rounds, with the table's
    device and threads unless told otherwise."""
    device = device or table.device["kind"]
    threads = threads or table.device["threads"]
    with tempfile.TemporaryDirectory(prefix="hwnas-measure-") as folder:
        archs = {name: model for name, model in models.items() if isinstance(model, Arch)}
        exported = export_subnets({**archs, REFERENCE: table.reference_arch()}, folder, table.precision)
        paths = {name: str(path) for name, path in {**models, **exported}.items()}
        stats = time_interleaved(paths, device=device, threads=threads, rounds=rounds, warmup_rounds=warmup_rounds,
                                 seed=seed, log=log)
    metadata = runtime_metadata(device, threads)
    protocol = {"rounds": rounds, "warmup_rounds": warmup_rounds,
                "order": f"{INTERLEAVED}; with the table's reference subnet"}
    reference_now_ms = stats[REFERENCE]["median_ms"]
    return SideBySide({name: Measurement(stats[name]["median_ms"], stats[name]["p25_ms"], stats[name]["p75_ms"],
                                         reference_now_ms, table.reference_ms, metadata, protocol)
                       for name in models}, reference_now_ms)
