"""Measure whole networks on this machine beside the table's own subnets, with the table's protocol.

A raw measurement on these machines moves with the CPU's speed state (±25% within minutes,
docs/latency.md), so a measurement is only compared with a table's prediction in the table's speed
state. Every table holds whole subnets timed in the same rounds as its entries, at the table's speed:
its reference subnet and its calibration subnets (its *anchors*). A model is timed in interleaved
rounds beside the NEAREST_ANCHORS anchors whose table time is nearest its predicted latency, and

    speed now = median over those anchors of anchor(now) / anchor(table)
    measured at the table's speed = measured / speed now

in each of MEASUREMENT_RUNS independent runs; the figure is the median over the runs. Why anchors
near the model's size, and several runs: a small reference drifted up to 1.5x as much as archs four
times its latency when the machine's state changed, and one run's rescaled figure fell up to 19%
from the long-run median; anchors of the model's size and the median of three runs held it within
5% (benchmarks/reference_drift.py compares the two; BENCHMARKS.md has the figures).

Derive's correction loop, the model card's `target_met`, `front` and `validate-table` (one run for
each of its two) measure through `measure_at_table_speed`, onboarding times raw through `time_beside`,
so they all export and time the same way.
"""

from __future__ import annotations

import logging
import math
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from hwnas.errors import HwnasError
from hwnas.files.numbers import count, milliseconds, speed_ratio
from hwnas.latency.table import LatencyTable
from hwnas.measuring.quantize import export_deployed
from hwnas.measuring.timing import INTERLEAVED, ROUNDS, WARMUP_ROUNDS, runtime_metadata, time_interleaved
from hwnas.net.arch import Arch, build_subnet
from hwnas.net.space import SearchSpace

log = logging.getLogger(__name__)
REFERENCE = "reference"
NEAREST_ANCHORS = 3  # anchors a model's speed is judged on: a median of three outvotes one anchor's odd run
MEASUREMENT_RUNS = 3  # independent interleaved runs of a measurement judged against a target


@dataclass(frozen=True)
class Anchor:
    """A whole subnet of the table, timed in the same rounds as its entries (at the table's speed)."""
    arch: Arch
    table_ms: float


def speed_anchors(table: LatencyTable) -> dict[str, Anchor]:
    """The table's reference and its calibration subnets (each once), by name."""
    anchors = {REFERENCE: Anchor(table.reference_arch(), table.reference_ms)}
    seen = {table.reference_ops}
    for i, point in enumerate(table.calibration.points if table.calibration else ()):
        if point.ops not in seen:
            seen.add(point.ops)
            anchors[f"anchor{i:02d}"] = Anchor(Arch(table.space, point.ops), point.measured_ms)
    return anchors


def nearest_anchors(anchors: dict[str, Anchor], near_ms: float) -> list[str]:
    """The names of the NEAREST_ANCHORS anchors whose table time is nearest `near_ms`, by ratio."""
    return sorted(anchors, key=lambda name: abs(math.log(anchors[name].table_ms / near_ms)))[:NEAREST_ANCHORS]


def anchor_speed(stats: dict[str, dict], anchors: dict[str, Anchor], judged_on: list[str]) -> float:
    """The machine's speed in one run (`stats`: name → its median) against the table's: the median over
    the anchors `judged_on` of now / in the table (>1: slower now)."""
    return statistics.median(stats[name]["median_ms"] / anchors[name].table_ms for name in judged_on)


@dataclass(frozen=True)
class Run:
    """One interleaved run: the model's raw median and the speed of its anchors, now / table (>1: slower now)."""
    median_ms: float
    speed_now: float

    @property
    def at_table_speed_ms(self) -> float:
        return self.median_ms / self.speed_now


@dataclass(frozen=True)
class Measurement:
    median_ms: float  # raw, this machine in its speed state of the minute (median over the runs)
    p25_ms: float
    p75_ms: float
    reference_now_ms: float  # the table's reference subnet, timed in the same rounds (median over the runs)
    reference_table_ms: float  # the same subnet's median in the table
    runs: tuple[Run, ...]  # what each run gave: the figure at the table's speed is their median
    anchors_table_ms: tuple[float, ...]  # the table times of the anchors the speed was judged on
    device: dict  # where and with what (timing.runtime_metadata)
    protocol: dict  # rounds, warm-up rounds, order, runs
    batch_size: int = 1

    @property
    def speed_now(self) -> float:
        """How much slower than in the table this machine ran (median over the runs; >1: slower now)."""
        return statistics.median(run.speed_now for run in self.runs)

    @property
    def at_table_speed_ms(self) -> float:
        """The figure compared with the table: the median over the runs of each run's median / its speed now."""
        return statistics.median(run.at_table_speed_ms for run in self.runs)

    def to_json(self) -> dict:
        return {"median_ms": self.median_ms, "at_table_speed_ms": self.at_table_speed_ms, "p25_ms": self.p25_ms,
                "p75_ms": self.p75_ms, "speed_now": self.speed_now,
                "runs": [{"median_ms": run.median_ms, "speed_now": run.speed_now} for run in self.runs],
                "anchors_table_ms": list(self.anchors_table_ms), "reference_now_ms": self.reference_now_ms,
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
        table = milliseconds(table, "reference_table_ms")
        if "runs" in data:
            runs = tuple(Run(milliseconds(run["median_ms"], "a run's median_ms"),
                             speed_ratio(run["speed_now"], "a run's speed_now")) for run in data["runs"])
            anchors = tuple(milliseconds(ms, "anchors_table_ms") for ms in data["anchors_table_ms"])
            if not runs or not anchors:
                raise ValueError(f"a measurement names {len(runs)} runs and {len(anchors)} anchors, and "
                                 f"every measurement has at least one of each")
        else:  # written before the anchors: one run, judged on the reference alone
            runs, anchors = (Run(median, now / table),), (table,)
        return cls(median, milliseconds(data["p25_ms"], "p25_ms"), milliseconds(data["p75_ms"], "p75_ms"), now,
                   table, runs, anchors, dict(data["device"]), dict(data["protocol"]),
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
    """What one measurement gave: each model's Measurement and the reference's median now (ms)."""
    measurements: dict[str, Measurement]
    reference_now_ms: float


def time_beside(models: dict[str, str | Path | Arch], table: LatencyTable, subnets: dict[str, Arch], *,
                device: str, threads: int, rounds: int = ROUNDS, warmup_rounds: int = WARMUP_ROUNDS, seed: int = 0,
                progress: str | None = None) -> dict[str, dict]:
    """One interleaved run (timing.time_interleaved) of the models (name → an .onnx/.ort file, or an Arch
    to export untrained at the table's precision) and the table's `subnets`: name → median and quartiles
    in ms. With `progress`, the rounds' progress is logged, each line after that label."""
    with tempfile.TemporaryDirectory(prefix="hwnas-measure-") as folder:
        archs = {name: model for name, model in models.items() if isinstance(model, Arch)}
        exported = export_subnets({**archs, **subnets}, folder, table.precision)
        paths = {name: str(path) for name, path in {**models, **exported}.items()}
        return time_interleaved(paths, device=device, threads=threads, rounds=rounds, warmup_rounds=warmup_rounds,
                                seed=seed, log=None if progress is None else (lambda line: log.info(progress + line)))


def measure_at_table_speed(models: dict[str, str | Path | Arch], table: LatencyTable, *,
                           near_ms: dict[str, float] | None = None, runs: int = MEASUREMENT_RUNS,
                           device: str | None = None, threads: int | None = None, rounds: int = ROUNDS,
                           warmup_rounds: int = WARMUP_ROUNDS, seed: int = 0, progress: str | None = None
                           ) -> SideBySide:
    """The models (as `time_beside` takes them) timed in `runs` interleaved runs beside the table's
    reference and each model's nearest anchors, with the table's device and threads unless told
    otherwise. An Arch's anchors are those nearest its prediction; a file's, those nearest
    `near_ms[name]` (the reference alone without one). `progress` labels the rounds' log lines."""
    if runs < 1:
        raise ValueError(f"need runs >= 1, got {runs}")
    device = device or table.device.kind
    threads = threads or table.device.threads
    anchors = speed_anchors(table)
    near_ms = {**{name: table.predict_ms(m) for name, m in models.items() if isinstance(m, Arch)}, **(near_ms or {})}
    judged_on = {name: nearest_anchors(anchors, near_ms[name]) if name in near_ms else [REFERENCE] for name in models}
    timed = {name: anchor.arch for name, anchor in anchors.items()
             if name == REFERENCE or any(name in chosen for chosen in judged_on.values())}
    stats = [time_beside(models, table, timed, device=device, threads=threads, rounds=rounds,
                         warmup_rounds=warmup_rounds, seed=seed + run,
                         progress=None if progress is None else f"{progress}run {run + 1}/{runs}, ")
             for run in range(runs)]
    metadata = runtime_metadata(device, threads)
    protocol = {"rounds": rounds, "warmup_rounds": warmup_rounds, "runs": runs,
                "order": f"{INTERLEAVED}; beside the table's reference and anchors (measuring/measure.py): "
                         f"anchors_table_ms are those each model is judged on"}

    def median_of(name: str, figure: str) -> float:
        return statistics.median(run[name][figure] for run in stats)

    reference_now_ms = median_of(REFERENCE, "median_ms")
    return SideBySide({name: Measurement(
        median_of(name, "median_ms"), median_of(name, "p25_ms"), median_of(name, "p75_ms"), reference_now_ms,
        table.reference_ms, tuple(Run(run[name]["median_ms"], anchor_speed(run, anchors, judged_on[name]))
                                  for run in stats),
        tuple(anchors[anchor].table_ms for anchor in judged_on[name]), metadata, protocol) for name in models},
        reference_now_ms)


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


def speed_now(table: LatencyTable, near_ms: float, runs: int = MEASUREMENT_RUNS) -> float:
    """How much slower than in the table this machine runs now (>1: slower), for models near `near_ms`:
    the anchors nearest it timed in `runs` interleaved runs, the median over the runs of their speed."""
    anchors = speed_anchors(table)
    judged_on = nearest_anchors(anchors, near_ms)
    timed = {name: anchors[name].arch for name in judged_on}
    return statistics.median(anchor_speed(time_beside({}, table, timed, device=table.device.kind,
                                                      threads=table.device.threads, seed=run), anchors, judged_on)
                             for run in range(runs))


def reference_now_ms(table: LatencyTable) -> float:
    """The table's reference subnet timed now on this machine, with the table's protocol (ms)."""
    return time_beside({}, table, {REFERENCE: table.reference_arch()}, device=table.device.kind,
                       threads=table.device.threads)[REFERENCE]["median_ms"]
