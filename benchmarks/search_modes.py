"""Time and memory of one search step per mode, against a training step of a subnet alone.

    .venv/bin/python benchmarks/search_modes.py [--steps 12 --warmup 3 --batch 64 --rounds 2] [--arch A.json]

Prints a Markdown table. Every case runs in its own subprocess, so its peak RSS is its own:

    subnet          forward + backward + SGD step of a subnet alone (plain PyTorch loop): the arch
                    a fresh supernet derives (argmax of its N(0, 1e-3) alphas: a uniformly random
                    arch, like a path that binary mode samples early on), or --arch's
    binary/full     SearchModule step with Proxyless: arch step (one path, gate over all candidates) + weight step
    binary/two      the same with the two-path gate
    binary/reinforce  Reinforce: arch step by REINFORCE (a no-grad forward) + weight step
    gumbel          Gumbel: arch step through one straight-through Gumbel sample per layer + weight step
    softmax         Darts: arch step and weight step both run every candidate
    sum             OneShotOnly: one-shot weight step only (Average: all candidates, drop path), no arch step

A search step trains on two batches (arch batch + train batch, `--batch` images each) except
`sum`, which has no arch batch; the subnet step on one. Search steps run through a real
Lightning Trainer (manual optimization, logging included), on random images of the space's
shape, with no warm-up epochs, so every timed batch is a search batch.

Measures, per case: the median wall time of a step over `--steps` steps after `--warmup`
untimed ones, pooled over `--rounds` rounds that run the cases in alternating order (the CPU's
speed drifts for seconds at a time; alternating spreads the drift over every case), and
`step memory` = peak RSS (getrusage ru_maxrss) − RSS just before the first step: activations,
gradients, optimizer state and allocator slack of the steps, not the interpreter and weights.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = ["subnet", "binary/full", "binary/two", "binary/reinforce", "gumbel", "softmax", "sum"]
SPACE, TABLE = "recipes/spaces/demo.yaml", "latency_tables/demo-cpu.json"


def rss_mb() -> float:
    """Current resident set size of this process, MiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB → MiB
    raise RuntimeError("no VmRSS in /proc/self/status: this benchmark needs Linux")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB


def derived_arch(arch_path: str | None):
    """--arch's arch (of the demo space), or the one a fresh supernet derives (seed 0)."""
    import torch

    from hwnas.net.space import load_space
    from hwnas.net.supernet import SuperNet
    from hwnas.records.arch_record import ArchRecord

    if arch_path:
        return ArchRecord.load(arch_path).arch
    torch.manual_seed(0)
    return SuperNet(load_space(SPACE)).argmax_arch()


def run_subnet(args) -> dict:
    import torch
    import torch.nn.functional as F

    from hwnas.net.arch import build_subnet

    arch = derived_arch(args.arch)
    space, net = arch.space, build_subnet(arch)
    x = torch.randn(args.batch, space.in_channels, space.resolution, space.resolution)
    y = torch.randint(0, space.num_classes, (args.batch,))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=4e-5)
    net.train()
    base, times = rss_mb(), []
    for step in range(args.warmup + args.steps):
        start = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    return {"times_s": times, "step_mb": peak_rss_mb() - base, "note": ", ".join(arch.ops)}


def run_search(args, case: str) -> dict:
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.utilities.combined_loader import CombinedLoader
    from torch.utils.data import DataLoader, TensorDataset

    from hwnas.net.space import load_space
    from hwnas.search.module import SearchModule

    from hwnas.records.search_checkpoint import DeriveSettings
    from hwnas.search.algorithms import Darts, Gumbel, OneShotOnly, Proxyless, Reinforce
    from hwnas.search.one_shot import Average

    algorithm = {"binary/full": Proxyless(gate="full"), "binary/two": Proxyless(gate="two"),
                 "binary/reinforce": Reinforce(), "gumbel": Gumbel(), "softmax": Darts(), "sum": OneShotOnly()}[case]
    pl.seed_everything(0, verbose=False)
    model = SearchModule(SPACE, TABLE, 0.2, one_shot=Average(epochs=0), algorithm=algorithm,
                         derive=DeriveSettings(floor=0.0))
    space = load_space(SPACE)
    batches = args.warmup + args.steps

    def loader(seed: int) -> DataLoader:
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(batches * args.batch, space.in_channels, space.resolution, space.resolution, generator=generator)
        y = torch.randint(0, space.num_classes, (batches * args.batch,), generator=generator)
        return DataLoader(TensorDataset(x, y), args.batch)

    class StepTimer(pl.Callback):
        def __init__(self):
            self.times, self.base = [], None

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if self.base is None:  # model, optimizers and data all exist; no step has run yet
                self.base = rss_mb()
            self.start = time.perf_counter()

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx >= args.warmup:
                self.times.append(time.perf_counter() - self.start)

    timer = StepTimer()
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                         callbacks=[timer], default_root_dir=tempfile.mkdtemp(prefix="hwnas-search-modes-"))
    trainer.fit(model, CombinedLoader({"train": loader(0), "arch": loader(1)}, mode="max_size_cycle"))
    return {"times_s": timer.times, "step_mb": peak_rss_mb() - timer.base, "note": ""}


def child(args) -> None:
    result = run_subnet(args) if args.case == "subnet" else run_search(args, args.case)
    print("RESULT " + json.dumps({"case": args.case, **result}))


def measure(case: str, args) -> dict:
    command = [sys.executable, __file__, "--case", case, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch", str(args.batch), *(["--arch", args.arch] if args.arch else [])]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    (line,) = [line for line in output.splitlines() if line.startswith("RESULT ")]
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12, help="timed steps per case and round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=64, help="images per batch")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all cases, alternating their order")
    parser.add_argument("--arch", help="arch.json (demo space) for the subnet; default: a fresh supernet's argmax")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # internal: run one case, print its result
    args = parser.parse_args()
    if args.case:
        return child(args)

    times: dict[str, list[float]] = {case: [] for case in CASES}
    memory: dict[str, list[float]] = {case: [] for case in CASES}
    notes = {}
    for round_index in range(args.rounds):
        for case in CASES if round_index % 2 == 0 else CASES[::-1]:
            result = measure(case, args)
            times[case] += result["times_s"]
            memory[case].append(result["step_mb"])
            notes[case] = result["note"]
            print(f"round {round_index + 1}: {case} {1000 * statistics.median(result['times_s']):.0f} ms",
                  file=sys.stderr)

    step_ms = {case: 1000 * statistics.median(times[case]) for case in CASES}
    step_mb = {case: max(memory[case]) for case in CASES}
    print(f"demo space, batch {args.batch}, median of {args.steps} steps × {args.rounds} rounds "
          f"after {args.warmup} warm-up steps; torch threads: default; subnet: {notes['subnet']}\n")
    print("| case | batches per step | step time (ms) | × subnet | step memory (MiB) | × subnet |")
    print("|---|---|---|---|---|---|")
    for case in CASES:
        batches = 1 if case in ("subnet", "sum") else 2
        print(f"| {case} | {batches} | {step_ms[case]:.0f} | {step_ms[case] / step_ms['subnet']:.1f} | "
              f"{step_mb[case]:.0f} | {step_mb[case] / step_mb['subnet']:.1f} |")


if __name__ == "__main__":
    main()
