"""The expected latency is the table's costs weighted by the probabilities, and its
gradient moves the alphas toward cheaper candidates."""

from __future__ import annotations

import pytest
import torch

from hwnas.errors import HwnasError
from hwnas.latency.objective import ExpectedLatency, LatencyLoss, LossConfig
from hwnas.latency.table import load_table
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet


@pytest.fixture
def setup(tiny_space_path, tiny_table_path):
    space = load_space(tiny_space_path)
    return space, load_table(tiny_table_path, space)


def test_expected_latency_is_the_probability_weighted_table_sum(setup):
    space, table = setup
    net = SuperNet(space)
    costs = table.layer_costs_ms()
    probabilities = net.probabilities()
    manual = table.fixed_ms() + sum(float((p * torch.tensor(c)).sum()) for p, c in zip(probabilities, costs))
    assert float(ExpectedLatency(table)(probabilities)) == pytest.approx(manual, rel=1e-6)


def test_a_one_hot_distribution_gives_the_table_prediction_of_that_arch(setup):
    space, table = setup
    net = SuperNet(space)
    with torch.no_grad():
        for mixed in net.mixed_ops:
            mixed.alphas[-1] = 100.0  # p ≈ one-hot on the last candidate
    arch = net.argmax_arch()
    assert float(ExpectedLatency(table)(net.probabilities())) == pytest.approx(table.predict_ms(arch), rel=1e-4)


def test_latency_gradient_favours_the_cheapest_candidate(setup):
    space, table = setup
    net = SuperNet(space)
    ExpectedLatency(table)(net.probabilities()).backward()
    for mixed, costs in zip(net.mixed_ops, table.layer_costs_ms()):
        # descending the gradient raises the alpha of the cheapest op the most
        assert int((-mixed.alphas.grad).argmax()) == costs.index(min(costs))


@pytest.mark.parametrize("form", ["add_linear", "mul_log"])
def test_tighter_target_pushes_harder(form):
    ce, expected = torch.tensor(1.0), torch.tensor(0.8, requires_grad=True)
    grads = []
    for target in (0.4, 1.6):
        expected.grad = None
        LatencyLoss(target, LossConfig(form))(ce, expected).backward()
        grads.append(float(expected.grad))
    assert grads[0] > grads[1] > 0


def test_add_linear_value():
    loss = LatencyLoss(0.5, LossConfig("add_linear", lam=0.1))(torch.tensor(2.0), torch.tensor(0.75))
    assert float(loss) == pytest.approx(2.0 + 0.1 * 0.5)


def test_non_positive_target_is_rejected():
    with pytest.raises(HwnasError, match="target"):
        LatencyLoss(0.0)


def test_abs_ratio_has_its_minimum_at_the_target_and_add_linear_does_not():
    """TF-NAS's |E/T − 1| turns round at T; ProxylessNAS's add_linear keeps falling below it."""
    target = 0.08
    latencies = torch.tensor([0.06, 0.07, 0.08, 0.09, 0.10])
    ce = torch.tensor(1.0)
    abs_ratio = [float(LatencyLoss(target, LossConfig("abs_ratio", lam=1.0))(ce, e)) for e in latencies]
    add_linear = [float(LatencyLoss(target, LossConfig("add_linear", lam=1.0))(ce, e)) for e in latencies]
    assert min(range(5), key=abs_ratio.__getitem__) == 2
    assert min(range(5), key=add_linear.__getitem__) == 0


def test_abs_ratio_pushes_alphas_towards_the_target_from_either_side(setup):
    """Below T the latency term favours the dearer candidate, above T the cheaper one."""
    space, table = setup
    net = SuperNet(space)
    expected = ExpectedLatency(table)
    layer = next(i for i, m in enumerate(net.mixed_ops) if not any(m.is_zero))
    costs = table.layer_costs_ms()[layer]
    cheap, dear = costs.index(min(costs)), costs.index(max(costs))
    fastest, slowest = table.latency_range_ms()
    for target, favoured in [(slowest * 2, dear), (fastest / 2, cheap)]:
        net.zero_grad()
        LatencyLoss(target, LossConfig("abs_ratio", lam=1.0))(torch.tensor(0.0), expected(net.probabilities())).backward()
        grad = net.mixed_ops[layer].alphas.grad
        assert int(grad.argmin()) == favoured  # gradient descent raises the alpha with the lowest gradient
