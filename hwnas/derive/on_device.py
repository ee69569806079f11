"""Derive for a target and, on the table's own device, measure before retraining.

Latency does not depend on trained weights, so the derived subnet can be exported untrained
(eval mode, BN folded, as deployed) and timed with the table's protocol, beside the table's
own subnets nearest its size, minutes before anyone spends hours retraining it. When the table's device
is this machine (measuring/device_identity.py):

    try 1:  derive in [floor·T, T] (predicted; in [1.02·floor·T, 0.97·T] where it can), measure
    try k:  if measured_{k-1} ∉ [floor·T, T]: budget_k = T · predicted_{k-1} / measured_{k-1},
            derive in [floor·budget_k, budget_k], measure             (at most MAX_TRIES tries)

i.e. the table's error on this very arch corrects the budget. Each derive first looks inside the
window with room at both ends (in [FLOOR_ROOM·floor·budget, HEADROOM·budget]) and only if that
holds no arch in the whole window: the same arch measured minutes apart moves with the machine's
state (docs/latency.md), so an arch predicted at an edge of the window passes at derive
and fails at export. The loop also ends when the corrected window holds no arch or gives the arch already
measured. The first try inside the window is kept; if none is, the try measured closest to T
from below (else the fastest). `measured` above is the figure at the table's speed: the raw
median over the speed of the table's subnets nearest the arch's size, timed in the same rounds
(measuring/measure.py), since the machine's speed moves ±25% within minutes and a raw figure
would correct the budget for the minute, not for the table. Each try records both; a reference
more than ±25% off is said in one line (the machine's speed, or another machine behind the same
identity: re-measure if it persists).
On another device nothing is measured: the arch is derived on the table's prediction alone,
and the record says why it was not measured.
"""

from __future__ import annotations

import logging

import torch

from hwnas.derive.window import DeriveError, Derived, derive_in_window
from hwnas.latency.table import LatencyTable
from hwnas.measuring.device_identity import speed_note, why_not_measured
from hwnas.measuring.measure import Measurement, measure_at_table_speed
from hwnas.net.arch import Arch
from hwnas.net.memory import MemoryCaps
from hwnas.records.arch_record import DEFAULT_FLOOR, DeriveTry, Provenance, in_window

log = logging.getLogger(__name__)

MAX_TRIES = 3
# Each derive looks first in [FLOOR_ROOM·floor, HEADROOM]·budget, 2% above the floor and 3% under the
# budget: room on both sides for the machine's run-to-run drift (BENCHMARKS.md, "Hit rate", compares
# these bounds with others side by side).
HEADROOM = 0.97
FLOOR_ROOM = 1.02
ROOM = (FLOOR_ROOM, HEADROOM)


def derive_with_headroom(probabilities: list[torch.Tensor], table: LatencyTable, budget_ms: float,
                         floor: float, caps: MemoryCaps = MemoryCaps(), room: tuple[float, float] = ROOM) -> Derived:
    """The most probable arch predicted in [floor_room·floor·budget, headroom·budget] (`room`:
    (floor_room, headroom)), or, when none is, in [floor·budget, budget] (DeriveError when
    neither holds one)."""
    floor_room, headroom = room
    if floor_room * floor < headroom:
        try:
            return derive_in_window(probabilities, table, headroom * budget_ms, floor_room * floor * budget_ms, caps)
        except DeriveError:
            pass
    return derive_in_window(probabilities, table, budget_ms, floor * budget_ms, caps)


def measure_arch(arch: Arch, table: LatencyTable) -> Measurement:
    """The untrained subnet measured on this machine at the table's speed, with its protocol."""
    return measure_at_table_speed({"model": arch}, table).measurements["model"]


def derive_for_target(probabilities: list[torch.Tensor], table: LatencyTable, target_ms: float,
                      floor: float = DEFAULT_FLOOR, measure: bool = True, stage: str = "search",
                      checkpoint: str | None = None, caps: MemoryCaps = MemoryCaps(),
                      room: tuple[float, float] = ROOM) -> tuple[Arch, Provenance]:
    """The derived arch and its provenance (target, window, predicted, measured, tries, table); see
    the module docstring. The provenance names the table by its `ref`, hashed as it was read (a search
    reads it at its start, not after it). `measure` False never measures. `room`: the first look's bounds
    (derive_with_headroom), other than the default only to compare them (benchmarks/hit_rate.py)."""
    why_not = why_not_measured(table, measure)
    budget = target_ms
    tries: list[DeriveTry] = []
    stopped = None
    for attempt in range(MAX_TRIES if why_not is None else 1):
        try:
            derived = derive_with_headroom(probabilities, table, budget, floor, caps, room)
        except DeriveError as error:
            if attempt == 0:
                raise
            stopped = f"the corrected window holds no arch: {error}"
            break
        if any(derived.arch.ops == earlier.ops for earlier in tries):
            stopped = "the corrected window gives an arch already measured"
            break
        window = (derived.floor_ms, derived.budget_ms)
        if why_not is not None:
            tries.append(DeriveTry(derived.arch.ops, derived.predicted_ms, derived.log_probability, window))
            break
        measured = measure_arch(derived.arch, table)
        note = speed_note(table.reference_ms, measured.reference_now_ms)
        if note and not tries:  # the tries still correct the budget, but every prediction is off
            log.info(note)
        tries.append(DeriveTry(derived.arch.ops, derived.predicted_ms, derived.log_probability, window, measured))
        log.info(f"derived {', '.join(derived.arch.ops)}: predicted {derived.predicted_ms:.4f} ms, measured "
            f"{measured.at_table_speed_ms:.4f} ms at the table's speed ({measured.median_ms:.4f} ms raw; "
            f"target {target_ms:.4f} ms)")
        if in_window(measured.at_table_speed_ms, floor, target_ms):
            break
        budget = target_ms * derived.predicted_ms / measured.at_table_speed_ms
    chosen = _choose(tries, floor, target_ms)
    return Arch(table.space, chosen.ops), Provenance(
        stage=stage, checkpoint=checkpoint, table=table.ref, target_ms=target_ms, floor=floor,
        predicted_ms=chosen.predicted_ms, measurement=chosen.measurement, not_measured_because=why_not,
        tries=tuple(tries), tries_stopped_because=stopped, caps=caps.to_json() if caps else None)


def _choose(tries: list[DeriveTry], floor: float, target_ms: float) -> DeriveTry:
    measured = [t for t in tries if t.measurement is not None]
    if not measured:
        return tries[-1]

    def at_table_speed(t: DeriveTry) -> float:
        return t.measurement.at_table_speed_ms

    inside = [t for t in measured if in_window(at_table_speed(t), floor, target_ms)]
    if inside:
        return inside[0]
    under = [t for t in measured if at_table_speed(t) <= target_ms]
    if under:
        return max(under, key=at_table_speed)
    return min(measured, key=at_table_speed)
