"""REINFORCE for the alphas: the moving-average baseline, and the estimator's direction."""

from __future__ import annotations

import pytest
import torch

from hwnas.errors import HwnasError
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet
from hwnas.search.algorithms.reinforce import MovingAverageBaseline, log_probability, reinforce_loss, reward


def test_baseline_starts_at_the_first_reward_then_averages_with_decay():
    baseline = MovingAverageBaseline(decay=0.9)
    assert float(baseline.advantage(torch.tensor(1.0))) == 0.0  # first reward: b = R
    assert float(baseline.advantage(torch.tensor(0.0))) == pytest.approx(-1.0)  # b before this R
    assert float(baseline.value) == pytest.approx(0.9)  # 0.9 · 1 + 0.1 · 0
    assert set(baseline.state_dict()) == {"value", "started"}  # checkpointed with the module


def test_reward_is_accuracy_scaled_by_the_latency_ratio():
    assert float(reward(torch.tensor(0.8), torch.tensor(2.0), target_ms=1.0, weight=1.0)) == pytest.approx(0.4)
    assert float(reward(torch.tensor(0.8), torch.tensor(2.0), target_ms=1.0, weight=0.0)) == pytest.approx(0.8)


def test_reinforce_moves_the_alphas_toward_the_rewarded_candidate(tiny_space_path):
    """Reward 1 when layer 0 samples candidate 1 (mb_k7_e6), else 0: after 100 Adam steps
    (lr 0.05, β1 = 0, as in the search) its probability has grown from 1/3 to 0.965."""
    torch.manual_seed(0)
    net = SuperNet(load_space(tiny_space_path))
    optimizer = torch.optim.Adam(net.arch_parameters(), lr=0.05, betas=(0.0, 0.999))
    baseline = MovingAverageBaseline(decay=0.9)
    sampler = torch.Generator().manual_seed(0)
    for _ in range(100):
        paths = net.sample_paths(sampler)
        advantage = baseline.advantage(torch.tensor(float(paths[0] == 1)))
        optimizer.zero_grad()
        reinforce_loss(advantage, log_probability(net, paths)).backward()
        optimizer.step()
    assert net.probabilities()[0][1] > 0.9


def test_baseline_decay_outside_zero_one_is_an_error():
    with pytest.raises(HwnasError, match="baseline_decay"):
        MovingAverageBaseline(decay=1.0)
