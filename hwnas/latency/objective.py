"""The differentiable latency term of the search loss.

Expected latency of the supernet's current architecture distribution:

    E[lat] = fixed_ms + Σ_layers Σ_j p_j · cost(op_j at that layer's shape)      (ms)

with p = softmax(α) per layer, `zero` costing 0 ms, and costs calibrated when the table is
(then T is a target for the whole network's measured latency, see calibration.py). Autograd carries dE/dα into the
alphas. Three loss forms, each with an explicit target T in ms:

- abs_ratio:  CE + λ · |E[lat] / T − 1|                       (TF-NAS; the recipes' default)
- add_linear: CE + λ · (E[lat] − T) / T                       (ProxylessNAS, λ = 0.1 in the reference)
- mul_log:    α · CE · (log E[lat] / log T)^β                 (ProxylessNAS, α = 0.2, β = 0.3)

Only abs_ratio has its minimum at E[lat] = T: its alpha gradient is ±λ/T · p_i (c_i − Σ_j p_j c_j),
the sign set by which side of T the expectation is on, so the search settles where CE's pull
towards bigger ops meets the penalty, at or just above T. add_linear's gradient is the same
without the sign: λ/T · p_i (c_i − Σ p c) whatever E[lat] is, a push towards cheaper ops that
never stops, and mul_log is monotone in E[lat] too. With either of those, where the search ends
is set by the number of arch steps, not by T (measured: BENCHMARKS.md, "Latency objectives").

mul_log takes its logs of latencies in µs. The reference worked in ms on ~80 ms mobile
networks; below 1 ms (every op of a small CPU network) log-ms turns negative and the ratio
inverts its meaning, while log-µs stays positive for anything slower than 1 µs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from hwnas.errors import HwnasError
from hwnas.latency.table import LatencyTable

LossForm = Literal["abs_ratio", "add_linear", "mul_log"]
LOSS_FORMS: tuple[LossForm, ...] = ("abs_ratio", "add_linear", "mul_log")
MS_TO_US = 1000.0


class ExpectedLatency:
    """One (n_candidates,) cost vector in ms per layer; maps probabilities to E[lat] in ms."""

    def __init__(self, table: LatencyTable):
        self.fixed_ms = table.fixed_ms()
        self.costs_ms = [torch.tensor(costs) for costs in table.layer_costs_ms()]

    def __call__(self, probabilities: list[torch.Tensor]) -> torch.Tensor:
        return self.fixed_ms + sum((p * c.to(p)).sum() for p, c in zip(probabilities, self.costs_ms))


def check_target_ms(target_ms: float, option: str = "--target_ms") -> float:
    """A latency target: a positive, finite number of ms (inf was written to JSON as Infinity, then crashed a plot)."""
    if isinstance(target_ms, bool) or not isinstance(target_ms, (int, float)) or \
            not (math.isfinite(target_ms) and target_ms > 0):
        raise HwnasError(f"{option} must be a positive, finite number of ms, got {target_ms}")
    return float(target_ms)


@dataclass(frozen=True)
class LossConfig:
    """The search loss's form and weights (a search recipe's `model.loss`); the target is the search's own."""
    form: LossForm = "abs_ratio"
    lam: float = 0.1  # abs_ratio and add_linear weight
    alpha: float = 0.2  # mul_log scale
    beta: float = 0.3  # mul_log exponent

    def __post_init__(self):
        if self.form not in LOSS_FORMS:
            raise HwnasError(f"--model.loss.form must be one of {', '.join(LOSS_FORMS)}, got {self.form!r}")
        for name in ("lam", "alpha", "beta"):  # a negative λ rewards latency; a NaN ends in a multinomial error
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise HwnasError(f"--model.loss.{name} must be a finite number ≥ 0, got {value}")


@dataclass(frozen=True)
class LatencyLoss:
    target_ms: float
    config: LossConfig = LossConfig()

    def __post_init__(self):
        check_target_ms(self.target_ms, "--model.target_ms")

    def __call__(self, ce: torch.Tensor, expected_ms: torch.Tensor) -> torch.Tensor:
        form, lam = self.config.form, self.config.lam
        if form == "abs_ratio":
            return ce + lam * (expected_ms / self.target_ms - 1).abs()
        if form == "add_linear":
            return ce + lam * (expected_ms - self.target_ms) / self.target_ms
        log_ratio = torch.log(expected_ms * MS_TO_US) / torch.log(torch.tensor(self.target_ms * MS_TO_US))
        return self.config.alpha * ce * log_ratio ** self.config.beta
