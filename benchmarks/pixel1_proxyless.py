"""The paper's check: ProxylessNAS-Mobile on the authors' own Pixel 1 table, next to the paper's 78 ms.

The table is the authors' per-block lookup table of the ProxylessNAS mobile space (Pixel 1, TFLite),
imported with `hwnas import-table` (latency_tables/proxyless_mobile-pixel1.json). The arch is the
released ProxylessNAS-Mobile (its ops from the authors' net config, proxyless_mobile.config of
mit-han-lab/proxylessnas: PAPER_OPS below). It differs from the space in one place: its first stage
after the fixed block is 32 channels wide, the space's (and so the table's) 24. So the script reports

- the table's prediction of the paper's ops in the space (24 wide);
- an estimate for the released widths: the entries of the layers the width touches (the 4 layers of
  that stage and the next stage's first layer, whose input it is) scaled by the ratio of their
  multiply-accumulates at 32 and at 24 channels (an estimate: the table has no entry at 32 channels);
- beside each block's table entry, the authors' own end-to-end profile of the released model, per block
  (RELEASED_PROFILE_MS): where the difference lies;
- the arch hwnas derives at T = 78 ms on the table without a trained supernet: the most
  multiply-accumulates predicted inside [0.9 T, T] (derive/window.py's dynamic programme, MACs as the
  score in place of the search's log-probabilities), beside the paper's.

    .venv/bin/python benchmarks/pixel1_proxyless.py [--table latency_tables/proxyless_mobile-pixel1.json]
"""

from __future__ import annotations

import argparse

from hwnas.derive.window import most_probable_in_window
from hwnas.latency.table import head_key, load_table, stem_key
from hwnas.net.arch import Arch
from hwnas.net.macs import arch_macs, layer_macs
from hwnas.net.memory import arch_weight_count
from hwnas.net.space import LayerShape

PAPER_MS = 78.0  # ProxylessNAS (Cai et al., ICLR 2019), Table 2: ProxylessNAS (mobile), Pixel 1
# proxyless_mobile.config, blocks 1-21 after the fixed first block (MBInvertedConvLayer kernel_size,
# expand_ratio; ZeroLayer), in the space's layer order; the first block is the space's fixed mb_k3_e1
PAPER_OPS = ("mb_k3_e1",
             "mb_k5_e3", "mb_k3_e3", "zero", "zero",              # 24 channels in the space, 32 in the release
             "mb_k7_e3", "mb_k3_e3", "mb_k5_e3", "mb_k5_e3",      # 40
             "mb_k7_e6", "mb_k5_e3", "mb_k5_e3", "mb_k5_e3",      # 80
             "mb_k5_e6", "mb_k5_e3", "mb_k5_e3", "mb_k5_e3",      # 96
             "mb_k7_e6", "mb_k7_e6", "mb_k7_e3", "mb_k7_e3",      # 192
             "mb_k7_e6")                                          # 320
RELEASED_WIDTH = {1: (16, 32), 2: (32, 32), 3: (32, 32), 4: (32, 32), 5: (32, 40)}  # layer → (in, out) channels
# The authors' end-to-end profile of the released model (TFLite benchmark_model, 1 thread, 100 runs, avg 80.67 ms;
# mit-han-lab/proxylessnas logs/proxyless_mobile_10_latency.txt, commit 6f22edad; the phone is not named there):
# its node averages (ms) summed per block: stem conv; each searchable layer in the space's order (0: the fixed
# block; zero layers 0); head = Conv_1 + AvgPool + Logits conv + reshape.
RELEASED_PROFILE_MS = {"stem": 3.246, "head": 4.738 + 0.037 + 1.479 + 0.002, "layers": (
    2.265 + 1.548, 2.723 + 2.859 + 0.942, 2.007 + 1.576 + 1.730 + 0.076, 0.0, 0.0,
    1.953 + 2.179 + 0.772, 0.674 + 0.496 + 0.932 + 0.024, 0.687 + 1.131 + 0.957 + 0.027, 0.680 + 1.134 + 0.933 + 0.022,
    1.376 + 1.138 + 0.769, 0.613 + 0.526 + 0.740 + 0.013, 0.611 + 0.524 + 0.746 + 0.012, 0.624 + 0.524 + 0.743 + 0.013,
    1.357 + 1.111 + 1.630, 0.865 + 0.602 + 0.858 + 0.014, 0.846 + 0.602 + 0.853 + 0.013, 0.856 + 0.586 + 0.856 + 0.013,
    1.961 + 0.685 + 1.155, 2.416 + 1.000 + 2.186 + 0.009, 1.351 + 0.496 + 1.134 + 0.009, 1.332 + 0.519 + 1.146 + 0.011,
    2.444 + 1.107 + 3.813)}


def released_width_ms(table, arch: Arch) -> float:
    """The table's prediction with the layers whose width the release changes scaled by their MAC ratio."""
    total = table.predict_ms(arch)
    for index, (channels_in, channels_out) in RELEASED_WIDTH.items():
        op, shape = arch.ops[index], table.space.layers()[index].shape
        if op == "zero":
            continue
        wider = LayerShape(channels_in, channels_out, shape.stride, shape.resolution)
        total += table.op_cost_ms(op, shape) * (layer_macs(op, wider) / layer_macs(op, shape) - 1)
    return total


def derived_at(table, target_ms: float, floor: float = 0.9) -> Arch:
    """The arch with the most MACs predicted inside [floor · T, T] (derive/window.py's DP)."""
    layers = table.space.layers()
    scores = [[float(layer_macs(op, layer.shape)) for op in layer.candidates] for layer in layers]
    picks = most_probable_in_window(scores, table.layer_costs_ms(), table.fixed_ms(), floor * target_ms, target_ms)
    return Arch(table.space, tuple(layer.candidates[j] for layer, j in zip(layers, picks)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", default="latency_tables/proxyless_mobile-pixel1.json")
    parser.add_argument("--target_ms", type=float, default=PAPER_MS)
    args = parser.parse_args()
    table = load_table(args.table)
    paper, derived = Arch(table.space, PAPER_OPS), derived_at(table, args.target_ms)
    print(f"table: {args.table} ({table.device.get('device_label')}); space {table.space.name}\n")
    print("| layer | shape in the space (H×W×C → C, stride) | ProxylessNAS-Mobile (paper) | its table entry | the "
          f"authors' profile of the released model | derived at {args.target_ms:g} ms |\n|---|---|---|---|---|---|")
    profile = RELEASED_PROFILE_MS
    for layer, mine, theirs, measured in zip(table.space.layers(), derived.ops, paper.ops, profile["layers"]):
        s = layer.shape
        width = " (32 wide)" if layer.index in RELEASED_WIDTH and theirs != "zero" else ""
        print(f"| {layer.index} | {s.resolution}×{s.resolution}×{s.in_channels} → {s.out_channels}, s{s.stride} | "
              f"{theirs} | {table.op_cost_ms(theirs, s):.2f} | {measured:.2f}{width} | {mine} |")
    stem, head = (table.entries[key].median_ms for key in (stem_key(table.space), head_key(table.space)))
    print(f"| stem, head | | | {stem:.2f}, {head:.2f} (the base's MAC shares) | {profile['stem']:.2f}, "
          f"{profile['head']:.2f} | |")
    print(f"\n| | ProxylessNAS-Mobile (paper) | derived at {args.target_ms:g} ms |\n|---|---|---|")
    print(f"| predicted by the Pixel 1 table, the space's widths | {table.predict_ms(paper):.2f} ms | "
          f"{table.predict_ms(derived):.2f} ms |")
    print(f"| the same, the released widths (stage 1 at 32 channels, MAC-scaled estimate) | "
          f"{released_width_ms(table, paper):.2f} ms | |")
    print(f"| the authors' profile of the released model (sum of its blocks) | "
          f"{profile['stem'] + profile['head'] + sum(profile['layers']):.2f} ms | |")
    print(f"| the paper's figure (Pixel 1, measured end to end) | {PAPER_MS:g} ms | |")
    widened = [i for i in RELEASED_WIDTH if paper.ops[i] != "zero"]
    entries = [table.op_cost_ms(op, layer.shape) for layer, op in zip(table.space.layers(), paper.ops)]
    same = [i for i in range(len(entries)) if i not in widened]
    print(f"| of which the stem, head and blocks whose shapes match the release | "
          f"{stem + head + sum(entries[i] for i in same):.2f} ms (profile "
          f"{profile['stem'] + profile['head'] + sum(profile['layers'][i] for i in same):.2f} ms) | |")
    print(f"| of which the blocks the release widens (24 wide here) | {sum(entries[i] for i in widened):.2f} ms "
          f"(profile, 32 wide: {sum(profile['layers'][i] for i in widened):.2f} ms) | |")
    print(f"| multiply-accumulates (space widths) | {arch_macs(paper) / 1e6:.0f} M | {arch_macs(derived) / 1e6:.0f} M |")
    print(f"| weights (space widths) | {arch_weight_count(paper) / 1e6:.2f} M | "
          f"{arch_weight_count(derived) / 1e6:.2f} M |")


if __name__ == "__main__":
    main()
