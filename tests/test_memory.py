"""Memory as deployed, counted by hand on the tiny space, and caps that are exact, not penalties."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from hwnas.derive.window import derive_in_window
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.memory import MemoryCaps, arch_memory
from hwnas.net.space import load_space


def test_weights_and_peak_activations_match_a_hand_count(tiny_space_path):
    """Tiny space: 1×8×8 input, stem 8 channels, L0 and L1 8→8 stride 1, L2 8→16 stride 2 (8×8 → 4×4),
    head 16→32 (1×1) then a 32→10 classifier. Arch mb_k3_e1, zero, mb_k7_e6.

    Weights (kernel + folded bias): stem 8·9+8 = 80; L0 depthwise 8·9+8 = 80, project 8·8+8 = 72;
    L1 none; L2 expand 8·48+48 = 432, depthwise 48·49+48 = 2400, project 48·16+16 = 784; head conv
    16·32+32 = 544, classifier 32·10+10 = 330: 4722 floats = 0.018888 MB.

    Activations (elements): the stem 64 + 512; L0 (residual): project 512 (x, waiting) + 512 + 512,
    the add 3·512 = 1536; L2: depthwise 48·64 + 48·16 = 3840, the peak; head 256 + 512.
    3840 floats = 15.36 KB."""
    space = load_space(tiny_space_path)
    weight_mb, activation_kb = arch_memory(Arch(space, ("mb_k3_e1", "zero", "mb_k7_e6")))
    assert weight_mb == pytest.approx(0.018888) and activation_kb == pytest.approx(15.36)


def favouring_the_largest(table) -> list[torch.Tensor]:
    """Per layer p = 0.9 on mb_k7_e6, the rest shared: without caps the derive takes it everywhere."""
    return [torch.tensor([0.9 if op == "mb_k7_e6" else 0.1 / (len(layer.candidates) - 1) for op in layer.candidates])
            for layer in table.space.layers()]


@pytest.mark.parametrize("caps", [MemoryCaps(max_activation_kb=10.0), MemoryCaps(max_weight_mb=0.015),
                                  MemoryCaps(max_weight_mb=0.02, max_activation_kb=20.0)])
def test_a_cap_changes_the_derived_arch_to_the_best_one_within_it(tiny_table_path, caps):
    """Checked against brute force over the tiny space's 18 archs."""
    table = load_table(tiny_table_path)
    probabilities = favouring_the_largest(table)
    # every arch fits this budget: the range's end summed in another order than the DP's may differ by a rounding
    budget = table.latency_range_ms()[1] * (1 + 1e-9)
    free = derive_in_window(probabilities, table, budget, 0.0).arch
    capped = derive_in_window(probabilities, table, budget, 0.0, caps).arch
    archs = [Arch(table.space, ops) for ops in itertools.product(*(l.candidates for l in table.space.layers()))]

    def log_p(arch: Arch) -> float:
        return sum(math.log(float(p[layer.candidates.index(op)]))
                   for p, layer, op in zip(probabilities, table.space.layers(), arch.ops))
    best = max((a for a in archs if caps.fits(a)), key=log_p)
    assert free.ops == ("mb_k7_e6",) * 3 and not caps.fits(free)
    assert caps.fits(capped) and log_p(capped) == pytest.approx(log_p(best))
