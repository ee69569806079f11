"""torch.export (dynamo) against the TorchScript exporter: export time, and the latency of the same
model exported both ways, timed side by side in one interleaved run.

Every entry of the demo space and 10 random demo subnets are exported with each exporter (same
weights, same opset, one file); all files are then timed together with the table protocol.
Reported: seconds per export (median, and the first), and per model the latency ratio
TorchScript / dynamo (median and range): whether tables profiled with one exporter hold for
models exported with the other.

    .venv/bin/python benchmarks/exporters.py     (~3 min on 2 cores, most of it dynamo)
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from hwnas.measuring.onnx_export import INPUT_NAME, OPSET, OUTPUT_NAME, export_onnx
from hwnas.measuring.timing import time_interleaved
from hwnas.net.arch import build_subnet, random_arch
from hwnas.net.space import load_space
from hwnas.profile.kit import _plan


def export_dynamo(module, example, path) -> None:
    """What measuring/onnx_export.py did until 2026-12-02."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (example,), str(path), dynamo=True, external_data=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], verbose=False)


def main() -> None:
    space = load_space("recipes/spaces/demo.yaml")
    models = [(build(), shape) for name, (description, build, shape, _) in _plan(space, 0, 0).items()
              if description["kind"] == "entry"]
    rng = random.Random(0)
    models += [(build_subnet(random_arch(space, rng)), space.stem_shape) for _ in range(10)]
    seconds = {"dynamo": [], "torchscript": []}
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for index, (module, shape) in enumerate(models):
            example = torch.randn(1, shape.in_channels, shape.resolution, shape.resolution)
            for exporter, export in (("dynamo", export_dynamo),
                                     ("torchscript", lambda m, x, p: export_onnx(m, x, p, dynamic_batch=False))):
                path = Path(folder) / f"{exporter}{index:02d}.onnx"
                start = time.perf_counter()
                export(module, example, path)
                seconds[exporter].append(time.perf_counter() - start)
                paths[f"{exporter}{index:02d}"] = str(path)
        stats = time_interleaved(paths, rounds=300, warmup_rounds=30)
    ratios = np.array([stats[f"torchscript{i:02d}"]["median_ms"] / stats[f"dynamo{i:02d}"]["median_ms"]
                       for i in range(len(models))])
    for exporter, times in seconds.items():
        print(f"{exporter:12s} export: median {statistics.median(times):.3f} s per model, first {times[0]:.2f} s, "
              f"all {len(times)}: {sum(times):.1f} s")
    print(f"latency torchscript / dynamo over {len(models)} models: median {np.median(ratios):.3f}, "
          f"range {ratios.min():.3f}-{ratios.max():.3f}")


if __name__ == "__main__":
    main()
