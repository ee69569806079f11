"""Training layout: a step's time in NCHW (contiguous) and NHWC (channels-last) on this CPU.

    .venv/bin/python benchmarks/training_layout.py [--space recipes/spaces/demo.yaml] [--threads 1 2]

For each torch thread count, the demo space's supernet steps (the one-shot warm-up's average of all
paths with drop path; one sampled path) and the retrain of one subnet (every layer's middle op), batch
64, SGD: the median of 15 steps after 3 warm-up steps, both layouts side by side in one process.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from hwnas.net.arch import Arch, build_subnet
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet
from hwnas.data.seeding import generator

STEPS, WARMUP = 15, 3


def median_step_ms(step) -> float:
    for index in range(WARMUP):
        step(index)
    times = []
    for index in range(STEPS):
        started = time.perf_counter()
        step(index)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def steps(space, channels_last: bool) -> dict[str, float]:
    layout = torch.channels_last if channels_last else torch.contiguous_format
    torch.manual_seed(0)
    x = torch.randn(64, space.in_channels, space.resolution, space.resolution).contiguous(memory_format=layout)
    y = torch.randint(0, space.num_classes, (64,))
    supernet = SuperNet(space).to(memory_format=layout)
    uniform = [torch.full_like(mixed.alphas, 1.0 / len(mixed.names)) for mixed in supernet.mixed_ops]
    subnet = build_subnet(Arch(space, tuple(layer.candidates[len(layer.candidates) // 2]
                                            for layer in space.layers()))).to(memory_format=layout)

    def train(network, forward):
        optimizer = torch.optim.SGD([p for p in network.parameters() if p.requires_grad], lr=0.05)

        def step(index: int) -> None:
            optimizer.zero_grad()
            F.cross_entropy(forward(index), y).backward()
            optimizer.step()
        return step

    return {
        "one-shot (all paths, drop path)": median_step_ms(train(
            supernet, lambda i: supernet.forward_weighted(x, uniform, 0.5, generator(0, i)))),
        "one sampled path": median_step_ms(train(supernet, lambda i: supernet(x, supernet.sample_paths(generator(0, i))))),
        "retrain (subnet)": median_step_ms(train(subnet, lambda i: subnet(x))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="recipes/spaces/demo.yaml")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    space = load_space(args.space)
    print(f"{space.name} space, batch 64, median of {STEPS} steps (ms)")
    print("| threads | step | NCHW | channels-last | speed-up |\n|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        nchw, nhwc = steps(space, False), steps(space, True)
        for name in nchw:
            print(f"| {threads} | {name} | {nchw[name]:.0f} | {nhwc[name]:.0f} | {nchw[name] / nhwc[name]:.2f}x |")


if __name__ == "__main__":
    main()
