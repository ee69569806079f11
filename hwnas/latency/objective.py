"""The differentiable latency term of the search loss.

Expected latency of the supernet's current architecture distribution:

    E[lat] = fixed_ms + Σ_layers Σ_j p_j · cost(op_j at that layer's shape)      (ms)

with p = softmax(α) per layer, `zero` costing 0 ms, and costs calibrated when the table is
(then T is a target for the whole network's measured latency, see calibration.py). Autograd carries dE/dα into the
alphas. Two loss forms from the ProxylessNAS reference, with an explicit target T in ms:

- add_linear: CE + λ · (E[lat] − T) / T                       (λ = 0.1 in the reference)
- mul_log:    α · CE · (log E[lat] / log T)^β                 (α = 0.2, β = 0.3)

mul_log takes its logs of latencies in µs. The reference worked in ms on ~80 ms mobile
networks; below 1 ms (every op of a small CPU network) log-ms turns negative and the ratio
inverts its meaning, while log-µs stays positive for anything slower than 1 µs.
Both forms push E[lat] down whatever the target; a tighter target pushes harder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from hwnas.latency.table import LatencyTable

LossForm = Literal["add_linear", "mul_log"]
MS_TO_US = 1000.0


class ExpectedLatency:
    """One (n_candidates,) cost vector in ms per layer; maps probabilities to E[lat] in ms."""

    def __init__(self, table: LatencyTable):
        self.fixed_ms = table.fixed_ms()
        self.costs_ms = [torch.tensor(costs) for costs in table.layer_costs_ms()]

    def __call__(self, probabilities: list[torch.Tensor]) -> torch.Tensor:
        return self.fixed_ms + sum((p * c.to(p)).sum() for p, c in zip(probabilities, self.costs_ms))


@dataclass(frozen=True)
class LatencyLoss:
    target_ms: float
    form: LossForm = "add_linear"
    alpha: float = 0.2  # mul_log scale
    beta: float = 0.3  # mul_log exponent
    lam: float = 0.1  # add_linear weight

    def __post_init__(self):
        if not self.target_ms > 0:
            raise ValueError(f"the latency target must be positive (ms), got {self.target_ms}")
        if self.form not in ("add_linear", "mul_log"):
            raise ValueError(f"unknown latency loss form {self.form!r}: use add_linear or mul_log")

    def __call__(self, ce: torch.Tensor, expected_ms: torch.Tensor) -> torch.Tensor:
        if self.form == "add_linear":
            return ce + self.lam * (expected_ms - self.target_ms) / self.target_ms
        log_ratio = torch.log(expected_ms * MS_TO_US) / torch.log(torch.tensor(self.target_ms * MS_TO_US))
        return self.alpha * ce * log_ratio ** self.beta
