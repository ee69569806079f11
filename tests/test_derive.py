"""Budget-exact derive: the most probable arch predicted inside [floor·T, T], checked against
brute force over every arch of the tiny space; and how decided a distribution is."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from hwnas.derive.window import DeriveError, decision, derive_in_window
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.space import load_space


@pytest.fixture(scope="module")
def table(tiny_space_path, tiny_table_path):
    return load_table(tiny_table_path, load_space(tiny_space_path))


def brute_force(probabilities, table, floor_ms, budget_ms):
    space, best = table.space, None
    for ops in itertools.product(*(layer.candidates for layer in space.layers())):
        arch = Arch(space, ops)
        if floor_ms <= table.predict_ms(arch) <= budget_ms:
            log_p = sum(math.log(float(p[layer.candidates.index(op)]))
                        for p, layer, op in zip(probabilities, space.layers(), ops))
            best = max(best or (log_p, arch), (log_p, arch), key=lambda item: item[0])
    return best


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("share, floor", [(0.3, 0.0), (0.5, 0.9), (0.8, 0.95)])
def test_the_dp_finds_the_most_probable_arch_in_the_window(table, seed, share, floor):
    g = torch.Generator().manual_seed(seed)
    probabilities = [torch.softmax(2 * torch.randn(len(layer.candidates), generator=g), 0)
                     for layer in table.space.layers()]
    fastest, slowest = table.latency_range_ms()
    budget = fastest + share * (slowest - fastest)
    expected = brute_force(probabilities, table, floor * budget, budget)
    if expected is None:
        with pytest.raises(DeriveError):
            derive_in_window(probabilities, table, budget, floor * budget)
        return
    derived = derive_in_window(probabilities, table, budget, floor * budget)
    assert floor * budget <= derived.predicted_ms <= budget
    assert derived.log_probability == pytest.approx(expected[0], abs=1e-9)


def test_an_empty_window_is_one_line_naming_the_range_and_the_nearest_arch(table):
    fastest, _ = table.latency_range_ms()
    budget = fastest * 1.0001  # only the fastest arch is under it, and it is below the floor
    with pytest.raises(DeriveError, match=f"slowest arch under it is predicted at {fastest:.4f} ms") as error:
        derive_in_window([torch.ones(len(layer.candidates)) / len(layer.candidates) for layer in table.space.layers()],
                         table, budget, 0.99999 * budget)
    assert "\n" not in str(error.value) and "the space spans" in str(error.value)


def test_decision_is_one_for_a_uniform_layer_and_zero_for_a_decided_one():
    measured = decision([torch.ones(4) / 4, torch.tensor([1.0, 0.0, 0.0])])
    assert measured["top_probability"] == pytest.approx([0.25, 1.0])
    assert measured["normalized_entropy"] == pytest.approx([1.0, 0.0], abs=1e-9)
    assert measured["min_top_probability"] == pytest.approx(0.25)
