"""Published per-layer latency tables as hwnas tables (`hwnas import-table LUT.json --space S.yaml`).

NAS papers publish their devices' latency as per-layer lookup tables. Two forms are read, both JSON
and both meaning `total_ms(arch) = base_ms + Σ_layers value(layer, op of that layer)`:

    {"device_label": "Google Pixel 3 (…)", "unit": "ms", "base_ms": 2.84, "provenance": …,
     "layers": [{"input_shape": [16, 32, 32], "out_channels": 24, "stride": 1,           # C, H, W
                 "ops": [{"op": "k3_e1", "delta_vs_skip_ms": 0.20}, …, {"op": "skip", "delta_vs_skip_ms": 0}]},
                …]}
    …            "ops": [{"op": "mb_k3_e3", "latency_ms": 4.13}, …, {"op": "zero", "latency_ms": 0}]

The first form (HW-NAS-Bench's, recovered from its whole-model totals) gives each op's cost relative
to `skip` at its layer: where the skip projects, the projection's own cost is inside `base_ms`, not
known apart. The second (ProxylessNAS's per-block means) gives each block's cost. `layers` lists the
space's searchable layers in order; layers with a single candidate (a fixed block) may be left out,
their cost then being in `base_ms`. Op names are hwnas's (net/space.py's parse_op) or HW-NAS-Bench's
FBNet names (`hwnas_op_name`).

An hwnas table holds one positive cost per entry, none for an op that runs nothing (zero, an identity
skip: 0 ms), and entries for the fixed parts. The import

1. checks every listed layer's shape and ops against the space (the first mismatch is one line);
2. moves a value given to an op that runs nothing (0 in both published forms) into the base;
3. splits the base over what it holds without pricing it apart (the stem, the head, the fixed layers
   left out, and the projecting `skip` of each layer given relative to it) in proportion to their
   multiply-accumulates (net/macs.py); a projecting skip's share is added to every op of its layer;
4. takes every entry as median = p25 = p75 (one figure is published) and fits no calibration.

Every arch's prediction is then base_ms + Σ values, the published total, to rounding. Only the split
of the base is a choice: every arch holds all the fixed parts, and a layer's share moves all its ops
alike, so no total, expected latency or search gradient depends on it (an onboarding calibration's
clamp of an op's cost at 0 ms aside).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.device import FLOAT32, Device
from hwnas.latency.table import EntryStats, LatencyTable, head_key, layer_key, stem_key
from hwnas.net.macs import head_macs, layer_macs, stem_macs
from hwnas.net.space import SKIP, SearchableLayer, SearchSpace, parse_op
from hwnas.profile.kit import reference_arch

# value key of an op → the published form, in words (recorded in the table's protocol)
FORMS = {"delta_vs_skip_ms": "base + per-op costs relative to skip at each layer (HW-NAS-Bench)",
         "latency_ms": "base + per-block costs (ProxylessNAS)"}
# HW-NAS-Bench's FBNet op names: k{K}_e{E}[_g{G}]; its e1 ops keep their expansion conv
_FBNET_NAME = re.compile(r"k(\d+)_e(\d+)(?:_g(\d+))?")
SAME_SHAPE_TOLERANCE_MS = 1e-9  # layers of one shape share an entry: their published values must agree


class PublishedTableError(HwnasError):
    """A published table that does not fit the space, or holds values no hwnas table can."""


def hwnas_op_name(published: str) -> str:
    """HW-NAS-Bench's FBNet names in hwnas's grammar (k3_e1 → mb_k3_e1_g1, k5_e1_g2 → mb_k5_e1_g2,
    k3_e6 → mb_k3_e6); any other name (mb_k3_e6, zero, skip) as it is."""
    match = _FBNET_NAME.fullmatch(published)
    if match is None:
        return published
    kernel, expand, groups = match.groups()
    return f"mb_k{kernel}_e{expand}_g{groups or 1}" if groups or expand == "1" else f"mb_k{kernel}_e{expand}"


@dataclass(frozen=True)
class PublishedLayer:
    position: int  # in the published table's `layers`
    layer: SearchableLayer  # the space's layer it prices
    values: dict[str, float]  # hwnas op name → published value (ms), in the space's candidate order
    relative: bool  # values relative to `skip`, whose own cost is in the base


def published_table(data: object, space: SearchSpace, source: str, sha256: str) -> LatencyTable:
    """The hwnas table of `space` holding the published table `data` (read from `source`, whose
    content hashes to `sha256`); PublishedTableError, one line, when they do not fit."""
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise PublishedTableError(f"{source}: not a published per-layer table (docs/published_tables.md: a "
                                  f"mapping with base_ms and layers)")
    if data.get("unit", "ms") != "ms":
        raise PublishedTableError(f"{source}: unit {data['unit']!r}: hwnas tables are in ms; convert it first")
    base_ms = _finite(data.get("base_ms"), f"{source}: base_ms")
    layers, left_out = _match_layers(data["layers"], space, source)
    entries, fixed_parts = {}, _fixed_parts(space, layers, left_out)
    base_ms += sum(_identity_value(published, source) for published in layers)
    if not base_ms > 0:
        raise PublishedTableError(f"{source}: base_ms is {base_ms:g} ms with the values of ops that run nothing "
                                  f"added: the stem and head of an hwnas table need a positive cost")
    total_macs = sum(macs for _, macs in fixed_parts)
    share = {key: base_ms * macs / total_macs for key, macs in fixed_parts}  # ms of the base per part
    for key, cost in share.items():
        if not key.startswith(SKIP + " "):
            _put(entries, key, cost, source, "the base's share")
    for published in layers:
        offset = share.get(layer_key(SKIP, published.layer.shape), 0.0) if published.relative else 0.0
        identity = _identity_value(published, source)
        for op, value in published.values.items():
            if not parse_op(op).runs_nothing(published.layer.shape):
                _put(entries, layer_key(op, published.layer.shape), value + offset - identity, source,
                     f"layer {published.position} (op {op})")
    return _as_table(data, space, entries, source, sha256, layers, fixed_parts)


def _match_layers(raw_layers: list, space: SearchSpace, source: str) -> tuple[list[PublishedLayer], list]:
    """The published layers paired with the space's searchable layers (all of them, or those with a
    choice when the fixed ones are left out), and the space's layers left out."""
    chosen = [layer for layer in space.layers() if len(layer.candidates) > 1]
    if len(raw_layers) == len(space.layers()):
        paired, left_out = list(space.layers()), []
    elif len(raw_layers) == len(chosen):
        paired, left_out = chosen, [layer for layer in space.layers() if len(layer.candidates) == 1]
    else:
        raise PublishedTableError(f"{source}: {len(raw_layers)} layers, the space {space.name} has "
                                  f"{len(space.layers())} searchable layers ({len(chosen)} with a choice): import it "
                                  f"with the space it was measured for (--space)")
    return [_read_layer(raw, position, layer, source) for position, (raw, layer) in
            enumerate(zip(raw_layers, paired))], left_out


def _read_layer(raw: object, position: int, layer: SearchableLayer, source: str) -> PublishedLayer:
    where = f"{source}: layer {position}"
    try:
        channels, height, width = raw["input_shape"]
        shape = (int(channels), int(height), int(width), int(raw["out_channels"]), int(raw["stride"]))
        ops = {str(op["op"]): op for op in raw["ops"]}
        if len(ops) != len(raw["ops"]):
            raise ValueError("an op is listed twice")
    except (KeyError, TypeError, ValueError) as error:
        raise PublishedTableError(f"{where}: malformed ({type(error).__name__}: {error}): each layer needs "
                                  f"input_shape [C, H, W], out_channels, stride and ops") from None
    s = layer.shape
    if shape != (s.in_channels, s.resolution, s.resolution, s.out_channels, s.stride):
        raise PublishedTableError(f"{where} is {shape[1]}x{shape[2]}x{shape[0]}->{shape[3]} s{shape[4]}, the space's "
                                  f"layer {layer.index} is {s.resolution}x{s.resolution}x{s.in_channels}->"
                                  f"{s.out_channels} s{s.stride} (H×W×C): import it with the space it was measured for")
    names = {hwnas_op_name(name): name for name in ops}
    extra = [published for name, published in names.items() if name not in layer.candidates]
    missing = [op for op in layer.candidates if op not in names]
    if extra or missing:
        what = f"op {extra[0]!r} is not" if extra else f"the space's op {missing[0]!r} is missing, it is"
        raise PublishedTableError(f"{where}: {what} one of the space's layer {layer.index} ops "
                                  f"({', '.join(layer.candidates)}): import it with the space it was measured for")
    keys = {key for op in ops.values() for key in FORMS if key in op}
    if len(keys) != 1:
        raise PublishedTableError(f"{where}: each op needs one value, {' or '.join(FORMS)} (found {sorted(keys)})")
    key, = keys
    values = {op: _finite(ops[names[op]].get(key), f"{where} op {names[op]} {key}") for op in layer.candidates}
    if key == "delta_vs_skip_ms" and values.get(SKIP) != 0:
        raise PublishedTableError(f"{where}: costs relative to skip need skip at 0 ms, got {values.get(SKIP)}")
    return PublishedLayer(position, layer, values, relative=key == "delta_vs_skip_ms")


def _identity_value(published: PublishedLayer, source: str) -> float:
    """The value of the layer's ops that run nothing (0 ms where it has none): moved into the base."""
    shape = published.layer.shape
    values = {value for op, value in published.values.items() if parse_op(op).runs_nothing(shape)}
    if len(values) > 1:
        raise PublishedTableError(f"{source}: layer {published.position}: its ops that run nothing have "
                                  f"different costs {sorted(values)}")
    return values.pop() if values else 0.0


def _fixed_parts(space: SearchSpace, layers: list[PublishedLayer], left_out: list[SearchableLayer]
                 ) -> list[tuple[str, int]]:
    """(entry key, MACs) of what the base holds without pricing it apart: stem, head, the layers left out
    and, of each layer given relative to skip, its projecting skip (once per shape: layers of one shape
    share the entry)."""
    parts = {stem_key(space): stem_macs(space), head_key(space): head_macs(space)}
    for layer in left_out:
        op, = layer.candidates
        if not parse_op(op).runs_nothing(layer.shape):
            parts[layer_key(op, layer.shape)] = layer_macs(op, layer.shape)
    for published in layers:
        shape = published.layer.shape
        if published.relative and not parse_op(SKIP).runs_nothing(shape):
            parts[layer_key(SKIP, shape)] = layer_macs(SKIP, shape)
    return list(parts.items())


def _put(entries: dict[str, float], key: str, cost_ms: float, source: str, what: str) -> None:
    if not cost_ms > 0:
        raise PublishedTableError(f"{source}: {what} costs {cost_ms:.6g} ms once the base is split: an hwnas "
                                  f"table needs a positive cost for every op that runs something")
    if key in entries and abs(entries[key] - cost_ms) > SAME_SHAPE_TOLERANCE_MS:
        raise PublishedTableError(f"{source}: {what} costs {cost_ms:.6g} ms, another layer of the same shape "
                                  f"{entries[key]:.6g} ms ({key!r}): an hwnas table has one entry per shape")
    entries[key] = cost_ms


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise PublishedTableError(f"{what} is {value!r}, not a finite number of ms")
    return float(value)


def _as_table(data: dict, space: SearchSpace, entries: dict[str, float], source: str, sha256: str,
              layers: list[PublishedLayer], fixed_parts: list[tuple[str, int]]) -> LatencyTable:
    label = data.get("device_label") or data.get("device") or Path(source).stem
    device = Device("mobile", 1, FLOAT32, {"device_label": str(label), "source": "published",
                                           "published_file": Path(source).name, "published_sha256": sha256,
                                           "provenance": data.get("provenance")})
    form = FORMS["delta_vs_skip_ms" if any(published.relative for published in layers) else "latency_ms"]
    protocol = {"published": form, "method": "the published per-layer table's sum (no calibration: it reproduces "
                                             "the published totals)",
                "base_split": f"base_ms over {', '.join(key for key, _ in fixed_parts)}, in proportion to their "
                              f"MACs (only their sum is published)",
                "entries": "median_ms = p25_ms = p75_ms = the published value (docs/published_tables.md)"}
    reference = reference_arch(space)
    table = LatencyTable(space=space, device=device, protocol=protocol,
                         entries={key: EntryStats(ms, ms, ms) for key, ms in entries.items()},
                         reference_ops=reference.ops, reference_ms=1.0)
    table.reference_ms = table.predict_ms(reference)
    return table
