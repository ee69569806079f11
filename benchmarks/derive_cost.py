"""What the derive adds to a search: the DP's time per space, and one measurement on the device.

    .venv/bin/python benchmarks/derive_cost.py

DP: derive_in_window on random distributions (seeded) at 50% of each committed table's range,
median wall time over 20 calls. Measurement: derive_on_device.measure_arch of the demo space's
reference arch (ONNX export of the untrained subnet + the table's interleaved protocol beside
the table's nearest subnets, MEASUREMENT_RUNS runs), wall time of 3 calls. A derive that corrects its budget measures at most
MAX_TRIES times.
"""

from __future__ import annotations

import statistics
import time

import torch

from hwnas.derive.on_device import MAX_TRIES, measure_arch
from hwnas.derive.window import GRID_CELLS, derive_in_window
from hwnas.latency.table import load_table
from hwnas.net.space import load_space


def seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    print("| what | space | layers | median wall time |\n|---|---|---|---|")
    for name in ("demo", "proxyless_cifar"):
        table = load_table(f"latency_tables/{name}-cpu.json", load_space(f"recipes/spaces/{name}.yaml"))
        generator = torch.Generator().manual_seed(0)
        probabilities = [torch.softmax(2 * torch.randn(len(layer.candidates), generator=generator), 0)
                         for layer in table.space.layers()]
        fastest, slowest = table.latency_range_ms()
        target = (fastest + slowest) / 2
        dp = seconds(lambda: derive_in_window(probabilities, table, target, 0.9 * target), 20)
        print(f"| DP, {GRID_CELLS} cells | {name} | {len(table.space.layers())} | {1000 * dp:.1f} ms |")
    table = load_table("latency_tables/demo-cpu.json", load_space("recipes/spaces/demo.yaml"))
    measurement = seconds(lambda: measure_arch(table.reference_arch(), table), 3)
    print(f"| one measurement (export + timing, ≤ {MAX_TRIES} per derive) | demo | 6 | {measurement:.1f} s |")


if __name__ == "__main__":
    main()
