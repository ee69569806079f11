"""REINFORCE for the alphas: the ProxylessNAS estimator for rewards without a gradient.

Per arch step one path is sampled, one candidate per layer, from p = softmax(α), and scored
on the arch batch (ProxylessNAS §3.3.2; its reference code's RLArchSearchConfig):

    R = acc · (T / lat)^w          acc: top-1 of the path on the arch batch (all ranks' batches)
                                   lat: the path's latency from the table, ms; T: target, ms
                                   w ≥ 0: the trade-off (reference 0.1; w = 0 ignores latency).
                                   MnasNet writes the same reward as acc · (lat / T)^(−w).
    b ← β · b + (1 − β) · R        moving-average baseline, started at the first reward
    ∇_α J ≈ (R − b) · ∇_α log p(path),   log p(path) = Σ_l log p_l[path_l]

The optimizer minimises, so the loss is −(R − b) · log p(path), with b taken before this R
enters it (b does not depend on the sample, so the estimate stays unbiased). β weights the
history of rewards: with b ← b + β (R − b), as in the reference, b is about the last reward and
R − b the difference of two consecutive noisy rewards.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hwnas.errors import HwnasError
from hwnas.net.supernet import SuperNet
from hwnas.search.algorithms.base import AfterStep, ArchStep, SearchAlgorithm


class Reinforce(SearchAlgorithm):
    name = "reinforce"

    def __init__(self, reward_weight: float = 0.1, baseline_decay: float = 0.99, arch_lr: float = 1e-3,
                 arch_every: int = 1):
        """reward_weight: w in acc · (T / lat)^w. baseline_decay: β of the moving-average baseline, in [0, 1)."""
        super().__init__(arch_lr, arch_every)
        self.check_non_negative(reward_weight=reward_weight)
        self.reward_weight, self.baseline_decay = reward_weight, baseline_decay
        self.baseline = MovingAverageBaseline(baseline_decay)  # buffers: in the checkpoint, so a resume continues it

    def arch_loss(self, step: ArchStep, x: Tensor, y: Tensor, randomness: torch.Generator,
                  progress: float) -> tuple[Tensor, AfterStep]:
        net = step.supernet
        paths = net.sample_paths(randomness)
        with torch.no_grad():
            accuracy = (net(x, paths).argmax(1) == y).float().mean()
        accuracy = step.reduce_mean(accuracy)  # every rank scores the same path on its own batch: one reward
        latency_ms = step.expected_latency(one_hot(net, paths))  # the table's latency of the path
        path_reward = reward(accuracy, latency_ms, step.target_ms, self.reward_weight)
        advantage = self.baseline.advantage(path_reward)
        step.log({"arch/acc": accuracy, "arch/reward": path_reward, "arch/baseline": self.baseline.value}, len(y))
        return reinforce_loss(advantage, log_probability(net, paths)), None


def reward(accuracy: Tensor, latency_ms: Tensor, target_ms: float, weight: float) -> Tensor:
    """R = acc · (T / lat)^w: a faster path than the target earns more, a slower one less."""
    return accuracy * (target_ms / latency_ms) ** weight


def reinforce_loss(advantage: Tensor, log_p: Tensor) -> Tensor:
    """−(R − b) · log p(path); its gradient is −(R − b) ∇ log p(path). advantage carries no gradient."""
    return -advantage.detach() * log_p


def log_probability(supernet: SuperNet, paths: Sequence[int]) -> Tensor:
    """log p(paths) = Σ_l log softmax(α_l)[paths[l]], differentiable in the alphas."""
    return sum(mixed.alphas.log_softmax(0)[active] for mixed, active in zip(supernet.mixed_ops, paths))


def one_hot(supernet: SuperNet, paths: Sequence[int]) -> list[Tensor]:
    """Per layer the (n,) one-hot of paths[l]: the expected latency over it is the path's latency."""
    return [F.one_hot(torch.tensor(active), len(mixed.names)).to(mixed.alphas)
            for mixed, active in zip(supernet.mixed_ops, paths)]


class MovingAverageBaseline(nn.Module):
    """b ← β b + (1 − β) R, started at the first reward. Held in buffers, so it is saved in
    checkpoints (a resumed search continues with the same b) and loads with weights_only."""

    def __init__(self, decay: float):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise HwnasError(f"--model.algorithm.baseline_decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.register_buffer("value", torch.tensor(0.0))
        self.register_buffer("started", torch.tensor(False))

    def advantage(self, reward: Tensor) -> Tensor:
        """R − b with b before this reward (0 for the first one), then b is updated with R."""
        reward = reward.detach()
        baseline = torch.where(self.started, self.value, reward)
        self.value.copy_(self.decay * baseline + (1.0 - self.decay) * reward)
        self.started.fill_(True)
        return reward - baseline
