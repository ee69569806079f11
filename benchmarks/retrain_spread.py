"""Retrain seed spread: how much does an arch's retrained accuracy move with the seed, per retrain recipe?

    .venv/bin/python benchmarks/retrain_spread.py --data-root ../shared/data/mnist-7k \
        [--out runs/bench_ranking] [--archs 4] [--seeds 3] [--retrain-epochs 6] [--variants recipe ema ema+warmup]

The archs: the first --archs of supernet_ranking.py's equal-latency group (--group window: archs a
search at T would choose among), or of its spread over the range (--group spread: the fastest
first); the same draw, so the retrains it cached in OUT/retrained.json are reused.
Each is retrained with seeds 0 .. --seeds-1 under each variant of recipes/retrain_demo.yaml:

    recipe        as written
    ema           + --model.ema_decay 0.99 (the tested weights average the last ~100 steps)
    ema+warmup    + --model.warmup_epochs 1 (linear learning-rate rise over the first epoch)

Reported per variant: the pooled seed sd (√ of the mean per-arch variance, points), the sd of the
archs' mean accuracies (how far apart the archs are), their ratio (> 1: the arch matters more than
the seed) and the mean accuracy. Writes OUT/retrain_spread.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from supernet_ranking import choose_archs, retrained_accuracy

from hwnas.files.atomic import write_json
from hwnas.latency.table import load_table
from hwnas.net.space import load_space

VARIANTS = {"recipe": [], "ema": ["--model.ema_decay", "0.99"],
            "ema+warmup": ["--model.ema_decay", "0.99", "--model.warmup_epochs", "1"]}


def spread(accuracies: dict[str, list[float]]) -> dict:
    pooled = statistics.mean(statistics.variance(a) for a in accuracies.values()) ** 0.5
    means = [statistics.mean(a) for a in accuracies.values()]
    return {"pooled_seed_sd": pooled, "sd_of_arch_means": statistics.stdev(means),
            "arch_over_seed": statistics.stdev(means) / pooled, "mean": statistics.mean(means)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--data-class", default="hwnas.data.ImageFolderDataModule")
    parser.add_argument("--space", default="recipes/spaces/demo.yaml")
    parser.add_argument("--table", default="latency_tables/demo-cpu.json")
    parser.add_argument("--archs", type=int, default=4)
    parser.add_argument("--group", default="window", choices=["window", "spread"],
                        help="supernet_ranking.py's group to take the first --archs of")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--retrain-epochs", type=int, default=6)
    parser.add_argument("--target-share", type=float, default=0.5, help="as supernet_ranking.py's")
    parser.add_argument("--seed", type=int, default=0, help="as supernet_ranking.py's")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", default="runs/bench_ranking")
    args = parser.parse_args()
    space = load_space(args.space)
    table = load_table(args.table, space)
    fastest, slowest = table.latency_range_ms()
    target = round(fastest + args.target_share * (slowest - fastest), 4)
    chosen = [arch for group, arch in choose_archs(space, table, 16, 8, target, args.seed) if group == args.group]
    out = Path(args.out)
    cache = json.loads((out / "retrained.json").read_text()) if (out / "retrained.json").exists() else {}
    data_args = ["--data.class_path", args.data_class, "--data.init_args.root", args.data_root]
    results = {}
    for name in args.variants:
        options = VARIANTS[name]
        accuracies = {" ".join(arch.ops): [retrained_accuracy(arch, seed, args, [*data_args, *options], cache, out,
                                                              variant="" if name == "recipe" else name)
                                           for seed in range(args.seeds)] for arch in chosen[:args.archs]}
        results[name] = {"accuracies": accuracies, **spread(accuracies)}
        write_json(out / "retrain_spread.json", {"settings": vars(args), "target_ms": target, "variants": results})
    print("| retrain | pooled seed sd (points) | sd of arch means | arch / seed | mean acc % |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {100 * r['pooled_seed_sd']:.2f} | {100 * r['sd_of_arch_means']:.2f} | "
              f"{r['arch_over_seed']:.2f} | {100 * r['mean']:.2f} |")


if __name__ == "__main__":
    main()
