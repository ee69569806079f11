"""From the search's distribution to one arch: the most probable arch inside the latency budget.

The search ends with p_l = softmax(α_l) per layer. The plain argmax takes the most probable op
of every layer on its own; on an undecided distribution that is, per layer, the op that got the
most consistent push, which is the cheap one, far below the target.
The derive asks the question the user asked instead:

    maximise   Σ_l log p_l(op_l)                                        (the arch's probability)
    subject to floor · T  ≤  fixed_ms + Σ_l cost_l(op_l)  ≤  T           (calibrated table, ms)

a multiple-choice knapsack, solved by dynamic programming over the layers on a latency grid of
GRID_CELLS cells across [0, T]: a cell keeps the most probable partial arch whose exact latency
falls in it (exact latencies are carried along, never rounded). The last layer is not binned:
every completion is checked against the window exactly. Two partial archs meet in one cell only
when their latencies are within T / GRID_CELLS (0.025% of T) of each other, so the answer is the
optimum except where the window's edges fall between two such archs; checked against brute force
over the tiny test space (tests/test_derive.py). The floor is why this is a
window and not only "≤ T": the user judges the net by how close to the budget it lands, and a
most-probable arch 40% under the budget is as wrong as one over it. floor = 0 gives "≤ T".

The distribution's decision is measured per layer by its top probability and its entropy
normalised by log(n candidates) (0: one op has everything; 1: uniform).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from hwnas.errors import HwnasError
from hwnas.latency.table import LatencyTable
from hwnas.net.arch import Arch
from hwnas.net.memory import MemoryCaps, fixed_memory, layer_memory

GRID_CELLS = 4000  # latency grid across [0, T]: cells of 0.025% of T
WEIGHT_CELLS = 400  # with a weight cap, its grid across [0, cap]: cells of 0.25% of the cap


class DeriveError(HwnasError):
    """No arch of the space fits the budget; the message says what to change."""


@dataclass(frozen=True)
class Derived:
    arch: Arch
    predicted_ms: float  # calibrated table prediction
    log_probability: float  # Σ_l log p_l(op_l) under the search's distribution
    budget_ms: float  # the upper bound the DP used (T, or T corrected by a measurement)
    floor_ms: float  # the lower bound the DP used


def decision(probabilities: list[torch.Tensor]) -> dict:
    """How decided the distribution is: per layer the top probability and the entropy / log n."""
    top, entropy = [], []
    for p in probabilities:
        p = p.detach().double().cpu()
        top.append(float(p.max()))
        entropy.append(float(-(p * p.clamp_min(1e-12).log()).sum() / math.log(len(p))) if len(p) > 1 else 0.0)
    return {"top_probability": top, "normalized_entropy": entropy,
            "min_top_probability": min(top), "max_normalized_entropy": max(entropy)}


@dataclass(frozen=True)
class WeightBound:
    """A cap on the arch's weights (MB) for the DP: per layer each candidate's MB, the fixed parts', the cap."""
    layer_mb: list[list[float]]
    fixed_mb: float
    max_mb: float


def most_probable_in_window(log_probs: list[np.ndarray], costs_ms: list[list[float]], fixed_ms: float,
                            floor_ms: float, budget_ms: float, weights: WeightBound | None = None) -> list[int] | None:
    """Candidate index per layer maximising Σ log p with floor_ms ≤ fixed + Σ cost ≤ budget_ms (and,
    with `weights`, Σ MB ≤ its cap), or None when no arch qualifies. DP over layers on the latency
    grid (module docstring); a weight cap adds a second grid, WEIGHT_CELLS cells across [0, cap]: a
    cell then keeps the most probable partial arch per (latency, weight) cell, exact values carried."""
    cell_ms = budget_ms / GRID_CELLS
    # frontier: one partial arch per occupied cell: its exact latency (ms) and weight (MB), its log p, its choices
    latency = np.array([fixed_ms])
    weight = np.array([weights.fixed_mb if weights else 0.0])
    score = np.array([0.0])
    choices = np.zeros((1, 0), dtype=np.int64)
    last = len(costs_ms) - 1
    for index, (layer_log_p, layer_costs) in enumerate(zip(log_probs, costs_ms)):
        n = len(layer_costs)
        new_latency = (latency[:, None] + np.asarray(layer_costs)[None, :]).ravel()  # (F·n,)
        new_weight = (weight[:, None] + np.asarray(weights.layer_mb[index] if weights else [0.0] * n)[None, :]).ravel()
        new_score = (score[:, None] + np.asarray(layer_log_p)[None, :]).ravel()
        parent, op = np.divmod(np.arange(len(new_latency)), n)
        fits = (new_latency <= budget_ms) & (new_weight <= (weights.max_mb if weights else np.inf))
        if not fits.any():
            return None
        new_latency, new_weight, new_score = new_latency[fits], new_weight[fits], new_score[fits]
        parent, op = parent[fits], op[fits]
        if index < last:
            cell = np.floor(new_latency / cell_ms).astype(np.int64)
            if weights:
                cell = cell * (WEIGHT_CELLS + 1) + np.floor(new_weight / weights.max_mb * WEIGHT_CELLS).astype(np.int64)
            order = np.lexsort((-new_score, cell))  # by cell, best score first within a cell
            keep = order[np.unique(cell[order], return_index=True)[1]]
        else:
            keep = np.arange(len(new_latency))
        latency, weight, score = new_latency[keep], new_weight[keep], new_score[keep]
        choices = np.concatenate([choices[parent[keep]], op[keep, None]], axis=1)
    inside = latency >= floor_ms
    if not inside.any():
        return None
    best = np.flatnonzero(inside)[np.argmax(score[inside])]
    return [int(j) for j in choices[best]]


def capped_problem(table: LatencyTable, caps: MemoryCaps) -> tuple[list[list[float]], WeightBound | None]:
    """The DP's per-layer costs (ms), a candidate over the activation cap priced at infinity, and the
    weight bound; a DeriveError when the stem or head alone exceed the activation cap."""
    space, costs = table.space, table.layer_costs_ms()
    if caps.max_activation_kb is not None:
        if fixed_memory(space)[1] > caps.max_activation_kb:
            raise DeriveError(f"the stem or head of space {space.name} alone need {fixed_memory(space)[1]:.1f} KB of "
                              f"activations, over --max_activation_kb {caps.max_activation_kb}: raise the cap")
        costs = [[cost if caps.allowed(op, layer.shape) else math.inf for op, cost in zip(layer.candidates, row)]
                 for layer, row in zip(space.layers(), costs)]
    weights = None if caps.max_weight_mb is None else WeightBound(
        [[layer_memory(op, layer.shape)[0] for op in layer.candidates] for layer in space.layers()],
        fixed_memory(space)[0], caps.max_weight_mb)
    return costs, weights


def derive_in_window(probabilities: list[torch.Tensor], table: LatencyTable, budget_ms: float,
                     floor_ms: float, caps: MemoryCaps = MemoryCaps()) -> Derived:
    """The most probable arch whose calibrated prediction lies in [floor_ms, budget_ms] and that
    keeps within the memory caps (net/memory.py)."""
    space = table.space
    log_probs = [p.detach().double().cpu().clamp_min(1e-300).log().numpy() for p in probabilities]
    costs, weights = capped_problem(table, caps)
    fixed = table.fixed_ms()
    indices = most_probable_in_window(log_probs, costs, fixed, floor_ms, budget_ms, weights)
    if indices is None:
        fastest, slowest = table.latency_range_ms()
        # the slowest arch under the budget: the same DP with each op's cost as its score
        nearest = most_probable_in_window([np.nan_to_num(np.asarray(c), posinf=0.0) for c in costs], costs, fixed,
                                          0.0, budget_ms, weights)
        below = (f"; the slowest arch under it is predicted at "
                 f"{fixed + sum(c[j] for c, j in zip(costs, nearest)):.4f} ms" if nearest else "")
        within = f" within the memory caps {caps.to_json()}" if caps else ""
        raise DeriveError(f"no arch of space {space.name}{within} is predicted inside [{floor_ms:.4f}, "
                          f"{budget_ms:.4f}] ms (the space spans {fastest:.4f}-{slowest:.4f} ms{below}): choose "
                          f"another target{', other caps' if caps else ''} or a lower derive floor")
    ops = tuple(layer.candidates[j] for layer, j in zip(space.layers(), indices))
    arch = Arch(space, ops)
    return Derived(arch, table.predict_ms(arch), float(sum(lp[j] for lp, j in zip(log_probs, indices))),
                   budget_ms, floor_ms)
