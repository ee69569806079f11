"""A published per-layer latency table of any space, with random costs, in either published form
(docs/published_tables.md): what the import tests and the bad-input cases read."""

from __future__ import annotations

import random
from pathlib import Path

from hwnas.net.space import load_space


def published(space_path: Path, value_key: str, names: dict[str, str], fixed_left_out: bool, seed: int = 0) -> dict:
    """A published table of the space at `space_path` with random costs (the same for layers of the same
    shape): relative to skip (value_key delta_vs_skip_ms, skip at 0) or per block (latency_ms, zero at 0);
    a fixed layer left out if asked."""
    rng, drawn = random.Random(seed), {}  # one cost per op and shape, as a table keyed by shape has
    layers = []
    for layer in load_space(space_path).layers():
        if fixed_left_out and len(layer.candidates) == 1:
            continue
        s = layer.shape
        values = {op: 0.0 if op in ("skip", "zero") else drawn.setdefault((op, s), round(rng.uniform(0.1, 2.0), 6))
                  for op in layer.candidates}
        layers.append({"input_shape": [s.in_channels, s.resolution, s.resolution], "out_channels": s.out_channels,
                       "stride": s.stride, "ops": [{"op": names.get(op, op), value_key: v} for op, v in values.items()]})
    return {"device_label": "Phone X (published)", "unit": "ms", "base_ms": 3.5, "layers": layers}
