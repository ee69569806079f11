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
enters it (b does not depend on the sample, so the estimate stays unbiased).
Dead end avoided: the reference updates b ← b + 0.99 · (R − b), i.e. b ≈ the last reward,
which makes R − b the difference of two consecutive noisy rewards; here β = 0.99 weights the
history, as the name of its `baseline_decay_weight` suggests.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnas.errors import HwnasError


def reward(accuracy: torch.Tensor, latency_ms: torch.Tensor, target_ms: float, weight: float) -> torch.Tensor:
    """R = acc · (T / lat)^w: a faster path than the target earns more, a slower one less."""
    return accuracy * (target_ms / latency_ms) ** weight


def reinforce_loss(advantage: torch.Tensor, log_probability: torch.Tensor) -> torch.Tensor:
    """−(R − b) · log p(path); its gradient is −(R − b) ∇ log p(path). advantage carries no gradient."""
    return -advantage.detach() * log_probability


class MovingAverageBaseline(nn.Module):
    """b ← β b + (1 − β) R, started at the first reward. Held in buffers, so it is saved in
    checkpoints (a resumed search continues with the same b) and loads with weights_only."""

    def __init__(self, decay: float):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise HwnasError(f"baseline_decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.register_buffer("value", torch.tensor(0.0))
        self.register_buffer("started", torch.tensor(False))

    def advantage(self, reward: torch.Tensor) -> torch.Tensor:
        """R − b with b before this reward (0 for the first one), then b is updated with R."""
        reward = reward.detach()
        baseline = torch.where(self.started, self.value, reward)
        self.value.copy_(self.decay * baseline + (1.0 - self.decay) * reward)
        self.started.fill_(True)
        return reward - baseline
