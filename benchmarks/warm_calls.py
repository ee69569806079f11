"""Does a model's measured latency depend on how many other models share its rotation?

    .venv/bin/python benchmarks/warm_calls.py [--small 11 --large 31 --repeats 2]

Exports `--large` random subnets of the demo space; the first `--small` of them are the
common set. For warm_calls 0 (each timed call straight after the other models' calls) and
1 (one untimed call of the same model first, hwnas's protocol), times the common set alone
and inside the full rotation, `--repeats` times each, in alternating order. Prints, per
setting, the median over the common models of median_ms(large rotation) / median_ms(small
rotation): 1.00 means a model's latency does not depend on what else is being timed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
from pathlib import Path

import torch

from hwnas.measuring.onnx_export import export_onnx
from hwnas.measuring.timing import time_interleaved
from hwnas.net.arch import build_subnet, random_arch
from hwnas.net.space import load_space

SPACE = "recipes/spaces/demo.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=11)
    parser.add_argument("--large", type=int, default=31)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    space, rng = load_space(SPACE), random.Random(0)
    with tempfile.TemporaryDirectory(prefix="hwnas-warm-") as folder:
        paths = {}
        for index in range(args.large):
            example = torch.randn(1, space.in_channels, space.resolution, space.resolution)
            subnet = build_subnet(random_arch(space, rng))
            paths[f"subnet{index:02d}"] = str(export_onnx(subnet, example, Path(folder) / f"{index}.onnx"))
        common = list(paths)[:args.small]
        ratios: dict[int, list[float]] = {0: [], 1: []}
        for repeat in range(args.repeats):
            for warm_calls in (0, 1) if repeat % 2 == 0 else (1, 0):
                small = time_interleaved({n: paths[n] for n in common}, warm_calls=warm_calls, seed=repeat)
                large = time_interleaved(paths, warm_calls=warm_calls, seed=repeat)
                ratios[warm_calls] += [large[n]["median_ms"] / small[n]["median_ms"] for n in common]
    print(f"| warm calls | latency among {args.large} / among {args.small} models (median, min-max over "
          f"{args.small} models × {args.repeats} repeats) |\n|---|---|")
    for warm_calls, values in ratios.items():
        print(f"| {warm_calls} | {statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f}) |")


if __name__ == "__main__":
    main()
