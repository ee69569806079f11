"""Measure a latency table for a space on this machine with ONNX Runtime.

Every entry is exported as it is deployed (eval mode, BN folded, residual included, batch 1)
and all entries are timed together in interleaved rounds (`timing.py` says why).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import torch
from torch import nn

from hwnas.latency.table import EntryStats, LatencyTable, head_key, layer_key, required_keys, stem_key
from hwnas.latency.timing import runtime_metadata, time_interleaved
from hwnas.onnx_export import export_onnx
from hwnas.ops import Head, build_layer, build_stem
from hwnas.space import LayerShape, SearchSpace

# ~330 rounds of the demo space's 32 entries (10-200 us each) take a few seconds; the export
# before it (~1 s per entry) dominates profiling.
ROUNDS, WARMUP_ROUNDS = 300, 30


def protocol(rounds: int, warmup_rounds: int) -> dict:
    """How the timings were taken, recorded with every table and measurement."""
    return {"rounds": rounds, "warmup_rounds": warmup_rounds,
            "order": "interleaved: every round runs each model once, shuffled"}


def table_entries(space: SearchSpace) -> Iterator[tuple[str, nn.Module, torch.Tensor]]:
    """(key, module as deployed, batch-1 random input (1, C, H, W)) for each of
    `required_keys(space)`, in that order; modules and inputs draw on torch's global RNG."""
    builders: dict[str, tuple[Callable[[], nn.Module], LayerShape]] = {
        stem_key(space): (partial(build_stem, space), space.stem_shape),
        head_key(space): (partial(Head, space), space.head_shape),
    }
    for layer in space.layers():
        for op in layer.candidates:  # `zero` gets a builder too, but has no required key
            builders.setdefault(layer_key(op, layer.shape), (partial(build_layer, op, layer.shape), layer.shape))
    for key in required_keys(space):
        build, shape = builders[key]
        yield key, build(), torch.randn(1, shape.in_channels, shape.resolution, shape.resolution)


def profile_space(space: SearchSpace, *, device: str = "cpu", threads: int = 1, rounds: int = ROUNDS,
                  warmup_rounds: int = WARMUP_ROUNDS, workdir: str | Path | None = None, seed: int = 0,
                  log: Callable[[str], None] = print) -> LatencyTable:
    """Export every entry of `space` to ONNX (in `workdir`, kept, or a temporary folder) and
    time them all together; the returned table holds median and quartiles in ms."""
    metadata = runtime_metadata(device, threads)  # checks the device before minutes of export
    torch.manual_seed(seed)  # same weights and inputs on every run
    with tempfile.TemporaryDirectory(prefix="hwnas-profile-") if workdir is None else nullcontext(workdir) as folder:
        paths: dict[str, str] = {}
        total = len(required_keys(space))
        for index, (key, module, example) in enumerate(table_entries(space), start=1):
            paths[key] = str(export_onnx(module, example, Path(folder) / f"entry{index:03d}.onnx", dynamic_batch=False))
            if index % 10 == 0 or index == total:
                log(f"exported {index}/{total} table entries")
        log(f"timing {total} entries: {warmup_rounds} warm-up + {rounds} interleaved rounds on {device}")
        stats = time_interleaved(paths, device=device, threads=threads, rounds=rounds,
                                 warmup_rounds=warmup_rounds, seed=seed)
    return LatencyTable(
        space_name=space.name, space_fingerprint=space.fingerprint(), resolution=space.resolution,
        device={**metadata, "batch_size": 1}, protocol=protocol(rounds, warmup_rounds),
        entries={key: EntryStats(**stats[key]) for key in paths},
    )


def measure_onnx(path: str | Path, *, device: str = "cpu", threads: int = 1, rounds: int = ROUNDS,
                 warmup_rounds: int = WARMUP_ROUNDS, batch_size: int = 1, seed: int = 0) -> dict:
    """Time one whole model with the table's protocol: {"median_ms", "p25_ms", "p75_ms"}
    plus the batch size, device and protocol they were measured with."""
    metadata = runtime_metadata(device, threads)
    stats = time_interleaved({"model": str(path)}, device=device, threads=threads, rounds=rounds,
                             warmup_rounds=warmup_rounds, batch_size=batch_size, seed=seed)["model"]
    return {**stats, "batch_size": batch_size, "device": metadata, "protocol": protocol(rounds, warmup_rounds)}
