"""The search space: pure data loaded from YAML, and the one place op names are decoded.

A space file describes a MobileNetV2-style macro layout::

    name: demo
    input: {resolution: 16, channels: 1}     # square images, H = W = resolution
    num_classes: 10
    stem: {channels: 16, stride: 1}          # conv3x3-BN-ReLU6
    ops: [mb_k3_e3, mb_k5_e6, zero]          # candidates of every searchable layer (grammar: parse_op)
    zero_where_allowed: false                # true: add `zero` to every layer that can hold it
    stages:                                  # each stage: `depth` searchable layers;
      - {channels: 16, depth: 2, stride: 1}  # the first has the stage's stride, the rest stride 1
      - {channels: 24, depth: 2, stride: 2, ops: [mb_k3_e3, mb_k3_e6]}   # per-stage override
    head: {channels: 128}                    # conv1x1-BN-ReLU6, global average pool, linear

Everything downstream (supernet, latency-table keys, derived subnet) is computed from the
`SearchSpace` returned by `load_space`, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
import functools
import math
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.files.strict import read_yaml

ZERO = "zero"
SKIP = "skip"
_MBCONV_NAME = re.compile(r"mb_k(\d+)_e(\d+)(?:_g(\d+))?")
# What a space may ask for: far beyond any network hwnas searches, near enough that a typo of 10^8 pixels
# or 10^20 channels is one line, not a traceback or an export that never ends.
MAX_RESOLUTION, MAX_CHANNELS, MAX_CLASSES, MAX_STRIDE, MAX_LAYERS = 4096, 65536, 100_000, 16, 512
MAX_KERNEL, MAX_EXPAND, MAX_GROUPS = 31, 64, 64


class SpaceError(HwnasError):
    """A space file (or an op name) that cannot be used; the message names what to fix."""


@dataclass(frozen=True)
class OpSpec:
    """A decoded candidate op: an MBConv, `zero` (skip the layer) or `skip` (identity or projection)."""

    name: str
    kernel: int = 0  # depthwise kernel size, odd; 0 for zero and skip
    expand: int = 0  # expansion ratio of the inverted bottleneck; 0 for zero and skip
    groups: int = 1  # groups of both 1×1 convs, a channel shuffle after the first when > 1
    expansion_conv: bool = False  # whether the 1×1 expansion conv is there (not in mb_k{K}_e1)

    @property
    def is_zero(self) -> bool:
        return self.name == ZERO

    @property
    def is_skip(self) -> bool:
        return self.name == SKIP

    def runs_nothing(self, shape: LayerShape) -> bool:
        """Whether the layer computes nothing with this op: `zero`, or `skip` where the layer keeps its
        shape. Such an op is deployed as identity, has no table entry and costs 0 ms."""
        return self.is_zero or (self.is_skip and shape.has_residual)


def parse_op(name: str) -> OpSpec:
    """Decode an op name. The grammar, the only one in hwnas:

    - ``mb_k{K}_e{E}``: MBConv (inverted residual) with a K×K depthwise conv (K odd) and
      expansion ratio E ≥ 1 (E = 1 skips the 1×1 expansion conv, as MobileNetV2's first block);
    - ``mb_k{K}_e{E}_g{G}``: the same with both 1×1 convs in G groups and a channel shuffle
      (ShuffleNet's) after the expansion conv, which this form always has, even at E = 1 (FBNet's
      ``k3_e1`` is ``mb_k3_e1_g1``, its ``k3_e1_g2`` is ``mb_k3_e1_g2``); G must divide the layer's
      channels in and out. ``_g1`` is only for E = 1 (``mb_k3_e3_g1`` would be ``mb_k3_e3``);
    - ``zero``: the layer computes nothing; where the layer has a residual, it becomes identity;
      allowed only where the layer keeps its shape;
    - ``skip``: identity where the layer keeps its shape (there it is ``zero``: nothing runs), else
      a projecting 1×1 conv (the layer's stride) + BN + activation, FBNet's skip.

    A layer adds its input back (a residual) when it keeps its shape, whatever the op.
    """
    if name in (ZERO, SKIP):
        return OpSpec(name)
    match = _MBCONV_NAME.fullmatch(name)
    if match is None:
        raise SpaceError(f"unknown op {name!r}: ops are 'mb_k<kernel>_e<expand>[_g<groups>]' (e.g. mb_k3_e6, "
                         f"mb_k3_e1_g2), 'zero' or 'skip'")
    kernel, expand = int(match[1]), int(match[2])
    groups = int(match[3]) if match[3] is not None else None
    if kernel % 2 == 0 or not 1 <= kernel <= MAX_KERNEL or not 1 <= expand <= MAX_EXPAND:
        raise SpaceError(f"op {name!r}: the kernel must be odd, at most {MAX_KERNEL}, and the expand ratio in "
                         f"1-{MAX_EXPAND}")
    if groups is not None and (not 1 <= groups <= MAX_GROUPS or (groups == 1 and expand != 1)):
        raise SpaceError(f"op {name!r}: the groups must be in 1-{MAX_GROUPS}, and _g1 only marks an e1 op that keeps "
                         f"its expansion conv (write mb_k{kernel}_e{expand})")
    return OpSpec(name, kernel, expand, groups or 1, expansion_conv=expand != 1 or groups is not None)


def conv_output_resolution(resolution: int, stride: int) -> int:
    """Output side of a conv with odd kernel k, padding k // 2 and this stride (any k)."""
    return (resolution - 1) // stride + 1


@dataclass(frozen=True)
class LayerShape:
    """What a searchable layer sees: channels in/out, stride, input side in pixels."""

    in_channels: int
    out_channels: int
    stride: int
    resolution: int

    @property
    def has_residual(self) -> bool:
        """MBConv adds its input back when the shape is unchanged; only such a layer can be zero."""
        return self.stride == 1 and self.in_channels == self.out_channels

    @property
    def out_resolution(self) -> int:
        return conv_output_resolution(self.resolution, self.stride)


@dataclass(frozen=True)
class SearchableLayer:
    index: int
    shape: LayerShape
    candidates: tuple[str, ...]  # op names; alphas follow this order


@dataclass(frozen=True)
class Stage:
    channels: int
    depth: int
    stride: int
    ops: tuple[str, ...] | None = None  # overrides the space's `ops` for this stage


@dataclass(frozen=True)
class SearchSpace:
    name: str
    resolution: int  # input side in pixels
    in_channels: int
    num_classes: int
    stem_channels: int
    stem_stride: int
    head_channels: int
    ops: tuple[str, ...]
    stages: tuple[Stage, ...]
    zero_where_allowed: bool = False

    @property
    def stem_shape(self) -> LayerShape:
        return LayerShape(self.in_channels, self.stem_channels, self.stem_stride, self.resolution)

    def arch_count(self) -> int:
        """How many distinct archs the space holds (one candidate per searchable layer)."""
        return math.prod(len(layer.candidates) for layer in self.layers())

    def layers(self) -> tuple[SearchableLayer, ...]:
        """The searchable layers in order, with their shapes and candidate lists."""
        return self._layers

    @functools.cached_property
    def _layers(self) -> tuple[SearchableLayer, ...]:
        """Computed once: the space is frozen (a cached_property lives outside the dataclass fields,
        so equality, hashing and asdict do not see it)."""
        layers: list[SearchableLayer] = []
        channels, resolution = self.stem_channels, self.stem_shape.out_resolution
        for stage in self.stages:
            for depth_index in range(stage.depth):
                stride = stage.stride if depth_index == 0 else 1
                shape = LayerShape(channels, stage.channels, stride, resolution)
                candidates = list(stage.ops or self.ops)
                if self.zero_where_allowed and shape.has_residual and ZERO not in candidates:
                    candidates.append(ZERO)
                layers.append(SearchableLayer(len(layers), shape, tuple(candidates)))
                channels, resolution = stage.channels, shape.out_resolution
        return tuple(layers)

    @property
    def head_shape(self) -> LayerShape:
        """The head's input: the last stage's channels at the final resolution."""
        last = self.layers()[-1].shape
        return LayerShape(last.out_channels, self.head_channels, 1, last.out_resolution)

    def to_dict(self) -> dict:
        """The space as the mapping a space file holds; `parse_space(space.to_dict(), …)` == space."""
        return {
            "name": self.name,
            "input": {"resolution": self.resolution, "channels": self.in_channels},
            "num_classes": self.num_classes,
            "stem": {"channels": self.stem_channels, "stride": self.stem_stride},
            "ops": list(self.ops),
            "zero_where_allowed": self.zero_where_allowed,
            "stages": [{"channels": st.channels, "depth": st.depth, "stride": st.stride,
                        **({"ops": list(st.ops)} if st.ops else {})} for st in self.stages],
            "head": {"channels": self.head_channels},
        }

    def fingerprint(self) -> str:
        """12 hex digits identifying everything that shapes the network (not the name).

        Latency tables and arch files record it; a mismatch means they were made for
        another space or input resolution.
        """
        return self._fingerprint

    @functools.cached_property
    def _fingerprint(self) -> str:
        structure = asdict(self)
        del structure["name"]
        structure["layers"] = [asdict(layer) for layer in self.layers()]
        canonical = json.dumps(structure, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a space YAML file; every error names the file and the field."""
    raw = read_yaml(path, error=SpaceError, missing="no such space file (the shipped ones are in recipes/spaces/)",
                    redo="fix the file (the shipped spaces in recipes/spaces/ show the fields)")
    return parse_space(raw, str(path))


def parse_space(raw: object, source: str) -> SearchSpace:
    """Validate a parsed space mapping; `source` names where it came from in error messages."""
    reader = _FieldReader(source, raw if isinstance(raw, dict) else None)
    _check_known_fields(source, raw)
    stage_items = reader.get("stages", list)
    if not stage_items:
        raise SpaceError(f"{source}: field 'stages' must list at least one stage")
    space = SearchSpace(
        name=reader.get("name", str),
        resolution=reader.positive_int("input.resolution", MAX_RESOLUTION),
        in_channels=reader.positive_int("input.channels", MAX_CHANNELS),
        num_classes=reader.positive_int("num_classes", MAX_CLASSES),
        stem_channels=reader.positive_int("stem.channels", MAX_CHANNELS),
        stem_stride=reader.positive_int("stem.stride", MAX_STRIDE),
        head_channels=reader.positive_int("head.channels", MAX_CHANNELS),
        ops=reader.op_list("ops"),
        stages=tuple(
            Stage(
                channels=reader.positive_int(f"stages[{i}].channels", MAX_CHANNELS),
                depth=reader.positive_int(f"stages[{i}].depth", MAX_LAYERS),
                stride=reader.positive_int(f"stages[{i}].stride", MAX_STRIDE),
                ops=reader.op_list(f"stages[{i}].ops") if reader.has(f"stages[{i}].ops") else None,
            )
            for i in range(len(stage_items))
        ),
        zero_where_allowed=reader.get("zero_where_allowed", bool, default=False),
    )
    layers = sum(stage.depth for stage in space.stages)
    if layers > MAX_LAYERS:
        raise SpaceError(f"{source}: {layers} searchable layers, more than {MAX_LAYERS}: fewer or shallower stages")
    _check_op_placement(source, space)
    return space


# Every field a space file may have, per level: anything else is a typo that would otherwise
# silently take the default (`zero_where_alowed: true` meant false).
_FIELDS = {"": ("name", "input", "num_classes", "stem", "ops", "zero_where_allowed", "stages", "head"),
           "input": ("resolution", "channels"), "stem": ("channels", "stride"), "head": ("channels",),
           "stages[]": ("channels", "depth", "stride", "ops")}


def _check_known_fields(source: str, raw: dict) -> None:
    """Raise SpaceError naming the first unknown field and the closest known one."""
    levels = [("", raw)] + [(key, raw.get(key)) for key in ("input", "stem", "head")]
    stages = raw.get("stages")
    levels += [(f"stages[{i}]", stage) for i, stage in enumerate(stages if isinstance(stages, list) else [])]
    for prefix, mapping in levels:
        if not isinstance(mapping, dict):
            continue  # a wrong type is reported by the field reader
        known = _FIELDS["stages[]" if prefix.startswith("stages[") else prefix]
        for key in mapping:
            if key not in known:
                field = f"{prefix}.{key}" if prefix else str(key)
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known fields here: {', '.join(known)}"
                raise SpaceError(f"{source}: unknown field {field!r}: {hint}")


def _check_op_placement(source: str, space: SearchSpace) -> None:
    """An explicitly listed `zero` must be holdable by every layer it applies to, and a grouped op's
    groups must divide the channels in and out of every layer it applies to."""
    for layer in space.layers():
        s = layer.shape
        stage, field = _stage_of(space, layer.index)
        where = f"{source}: field '{field}' lists"
        if ZERO in layer.candidates and not s.has_residual:
            raise SpaceError(
                f"{where} 'zero', but layer {layer.index} (stage {stage}) has "
                f"stride {s.stride} and {s.in_channels}->{s.out_channels} channels; zero needs stride 1 "
                f"and equal channels: remove it there, or use zero_where_allowed: true (or skip, which projects)"
            )
        for op in map(parse_op, layer.candidates):
            if s.in_channels % op.groups or s.out_channels % op.groups:
                raise SpaceError(f"{where} {op.name!r}, but layer {layer.index} (stage {stage}) has "
                                 f"{s.in_channels}->{s.out_channels} channels, which {op.groups} groups do not "
                                 f"divide: remove it there, or use other channels")


def _stage_of(space: SearchSpace, layer_index: int) -> tuple[int, str]:
    first = 0
    for stage_index, stage in enumerate(space.stages):
        if layer_index < first + stage.depth:
            return stage_index, f"stages[{stage_index}].ops" if stage.ops else "ops"
        first += stage.depth
    raise IndexError(layer_index)


class _FieldReader:
    """Reads dotted fields (`stages[1].channels`) from the parsed YAML with typed errors."""

    _MISSING = object()

    def __init__(self, source: str, raw: dict | None):
        if raw is None:
            raise SpaceError(f"{source}: a space must be a YAML mapping (see recipes/spaces/demo.yaml)")
        self.source, self.raw = source, raw

    def _lookup(self, field: str):
        node = self.raw
        for part in re.findall(r"[A-Za-z_]+|\[\d+\]", field):
            if part.startswith("["):
                index = int(part[1:-1])
                node = node[index] if isinstance(node, list) and index < len(node) else self._MISSING
            else:
                node = node.get(part, self._MISSING) if isinstance(node, dict) else self._MISSING
            if node is self._MISSING:
                return node
        return node

    def has(self, field: str) -> bool:
        return self._lookup(field) is not self._MISSING

    def get(self, field: str, kind: type, default=_MISSING):
        value = self._lookup(field)
        if value is self._MISSING:
            if default is not self._MISSING:
                return default
            raise SpaceError(f"{self.source}: missing field '{field}'")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SpaceError(f"{self.source}: field '{field}' must be a {kind.__name__}, got {value!r}")
        return value

    def positive_int(self, field: str, maximum: int) -> int:
        value = self.get(field, int)
        if not 1 <= value <= maximum:
            raise SpaceError(f"{self.source}: field '{field}' must be in 1-{maximum}, got {value}")
        return value

    def op_list(self, field: str) -> tuple[str, ...]:
        names = self.get(field, list)
        if not names:
            raise SpaceError(f"{self.source}: field '{field}' must list at least one op")
        for name in names:
            try:
                parse_op(str(name))
            except SpaceError as error:
                raise SpaceError(f"{self.source}: field '{field}': {error}") from None
        if len(set(names)) != len(names):
            raise SpaceError(f"{self.source}: field '{field}' lists an op twice")
        return tuple(str(name) for name in names)
