"""Supernet mechanics: the BinaryConnect gate gradient against the formula computed
independently (all candidates and two-path), the two-path rescale, the DARTS mixture,
zero layers, parameter groups, and derive → subnet."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwnas.net.arch import build_subnet
from hwnas.net.space import load_space
from hwnas.net.supernet import MixedOp, SuperNet
from hwnas.search.algorithms.proxyless import BinaryGate
from hwnas.search.one_shot.fair import fair_paths


def binary_gate(mixed: MixedOp, active: int, gated: list[int]):
    """Proxyless's gate on one layer (search/algorithms/proxyless.py), as its arch step passes it."""
    return lambda x, out: BinaryGate.apply(out, mixed.alphas, x, mixed.candidates, gated, active)


@pytest.fixture
def mixed(tiny_space_path) -> MixedOp:
    torch.manual_seed(0)
    layer = load_space(tiny_space_path).layers()[1]  # 8 -> 8, stride 1: mb_k3_e1, mb_k7_e6, zero
    op = MixedOp(layer).eval()  # eval: BN uses fixed statistics, so recomputed outputs match exactly
    with torch.no_grad():
        op.alphas.copy_(torch.tensor([0.3, -0.5, 0.9]))
    return op


def reference_alpha_grad(mixed: MixedOp, x: torch.Tensor, active: int, weight: torch.Tensor,
                         gated: list[int]) -> torch.Tensor:
    """dL/dα from the formula: y = x + Σ_j g_j o_j(x) with a one-hot leaf gate, then
    dL/dα_i = Σ_{j∈G} dL/dg_j p_j (δ_ij − p_i) for i ∈ G (0 elsewhere), p = softmax over G,
    written as a double loop."""
    gates = torch.zeros(len(mixed.names))
    gates[active] = 1.0
    gates.requires_grad_(True)
    y = x + sum(gates[j] * mixed.candidates[j](x) for j in range(len(mixed.names)))
    (y * weight).sum().backward()
    p = dict(zip(gated, mixed.alphas.detach()[gated].softmax(0)))
    return torch.tensor([sum(gates.grad[j] * p[j] * (float(i == j) - p[i]) for j in gated) if i in gated else 0.0
                         for i in range(len(mixed.names))])


@pytest.mark.parametrize("active, gated", [(0, [0, 1, 2]), (1, [0, 1, 2]), (1, [1, 2]), (0, [1, 0])])
def test_gate_gradient_matches_binaryconnect_formula(mixed, active, gated):
    """Full gate (all three candidates) and two-path (a pair, zero in it or not)."""
    x = torch.randn(2, 8, 8, 8)
    weight = torch.randn(2, 8, 8, 8)
    out = mixed.forward_path(x, active, binary_gate(mixed, active, gated))
    (out * weight).sum().backward()
    expected = reference_alpha_grad(mixed, x, active, weight, gated)
    assert mixed.alphas.grad.abs().sum() > 0
    torch.testing.assert_close(mixed.alphas.grad, expected, rtol=1e-4, atol=1e-6)


def test_sampled_zero_skips_the_layer_and_gives_no_arch_gradient(mixed):
    x = torch.randn(2, 8, 8, 8, requires_grad=True)
    zero = mixed.names.index("zero")
    out = mixed.forward_path(x, zero, binary_gate(mixed, zero, [0, 1, 2]))
    assert torch.equal(out, x)
    out.sum().backward()
    assert mixed.alphas.grad is None or not mixed.alphas.grad.any()


def test_single_path_trains_only_the_sampled_candidate(mixed):
    mixed.forward_path(torch.randn(2, 8, 8, 8), 0).sum().backward()
    assert all(p.grad is not None for p in mixed.candidates[0].parameters())
    assert all(p.grad is None for p in mixed.candidates[1].parameters())
    assert mixed.alphas.grad is None


def test_arch_and_weight_parameters_partition_the_supernet(tiny_space_path):
    net = SuperNet(load_space(tiny_space_path))
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert len(arch) == 3 and all(p.dim() == 1 for p in arch)
    assert {id(p) for p in arch}.isdisjoint(id(p) for p in weights)
    assert len(arch) + len(weights) == len(list(net.parameters()))


def test_sampling_is_determined_by_the_generator(tiny_space_path):
    net = SuperNet(load_space(tiny_space_path))
    first = [net.sample_paths(torch.Generator().manual_seed(s)) for s in range(5)]
    again = [net.sample_paths(torch.Generator().manual_seed(s)) for s in range(5)]
    assert first == again


def test_the_weighted_forward_runs_all_paths(tiny_space_path):
    torch.manual_seed(0)
    net = SuperNet(load_space(tiny_space_path))
    uniform = [torch.full((len(mixed.names),), 1 / len(mixed.names)) for mixed in net.mixed_ops]
    logits = net.forward_weighted(torch.randn(4, 1, 8, 8), uniform, drop_prob=0.2)
    logits.sum().backward()
    assert logits.shape == (4, 10)
    assert all(p.grad is not None for mixed in net.mixed_ops for c in mixed.candidates for p in c.parameters())


def test_derive_takes_the_argmax_and_builds_a_plain_subnet(tiny_space_path):
    net = SuperNet(load_space(tiny_space_path))
    with torch.no_grad():
        for mixed, winner in zip(net.mixed_ops, ["mb_k7_e6", "zero", "mb_k3_e1"]):
            mixed.alphas[mixed.names.index(winner)] = 1.0
    arch = net.argmax_arch()
    assert arch.ops == ("mb_k7_e6", "zero", "mb_k3_e1")
    subnet = build_subnet(arch)
    assert not any(isinstance(m, MixedOp) for m in subnet.modules())
    assert isinstance(subnet[2], nn.Identity)  # the zero layer
    assert subnet(torch.randn(3, 1, 8, 8)).shape == (3, 10)


def test_fair_paths_hold_every_candidate_of_every_layer_once(tiny_space_path):
    net = SuperNet(load_space(tiny_space_path))
    paths = fair_paths(net, torch.Generator().manual_seed(0))
    most = max(len(mixed.names) for mixed in net.mixed_ops)
    assert len(paths) == most
    for layer, mixed in enumerate(net.mixed_ops):
        column = [path[layer] for path in paths]
        assert set(column) == set(range(len(mixed.names)))  # every candidate trains in this step
        if len(mixed.names) == most:
            assert sorted(column) == list(range(most))  # ...and exactly once
