"""Zero-cost proxies: scores of an arch's deployed net at initialisation, from one batch, no training.

    naswot     log-determinant of the batch's ReLU-pattern kernel (Mellor et al. 2021, "Neural Architecture
               Search without Training"): K[i, j] counts the ReLU units on which images i and j agree (both
               active or both inactive); a net whose units tell the images apart has a large log|K|
    synflow    log10 of Σ |θ ⊙ ∂R/∂θ| over conv and linear weights, R the summed output of the net with every
               weight replaced by its magnitude, BN in eval mode (identity at init) and a single all-ones
               image, in float64 (Tanaka et al. 2020, as Abdelfattah et al. 2021 score archs with it); no data
    snip       Σ |θ ⊙ ∂L/∂θ|, L the cross-entropy of the batch (Lee et al. 2019)
    grad_norm  Σ over weight tensors of ‖∂L/∂θ‖₂

Higher is better for all four, as their papers use them. Each is the mean over `init_seeds` initialisations of
the same net, on one batch drawn (seeded) from the train split: the benchmark's scores never see the test split.
"""

from __future__ import annotations

import copy
import statistics

import numpy as np
import torch
from torch import nn

from hwnas.net.arch import Arch, build_subnet

PROXIES = ("naswot", "synflow", "snip", "grad_norm")
BATCH = 128  # images per batch: NASWOT's own setting


def train_batch(train_set, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """BATCH images and labels of the train split, drawn with `seed`."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randperm(len(train_set), generator=generator)[:BATCH].tolist()
    images, labels = zip(*(train_set[i] for i in picks))
    return torch.stack(images), torch.tensor(labels)


def _weighted_layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _saliency(net: nn.Module) -> float:
    """Σ |θ ⊙ ∂/∂θ| over the conv and linear weights, after a backward pass."""
    return sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in _weighted_layers(net))


def naswot(net: nn.Module, images: torch.Tensor) -> float:
    codes = []
    hooks = [m.register_forward_hook(lambda m, i, output: codes.append((output > 0).flatten(1).double()))
             for m in net.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    net.train()  # batch statistics, as at the start of training
    with torch.no_grad():
        net(images)
    for hook in hooks:
        hook.remove()
    active = torch.cat(codes, dim=1)
    kernel = active @ active.T + (1 - active) @ (1 - active).T
    return float(torch.linalg.slogdet(kernel).logabsdet)


def synflow(net: nn.Module, images: torch.Tensor) -> float:
    net = copy.deepcopy(net).double().eval()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):  # identity, as at initialisation, whatever ran the net before
            module.reset_running_stats()
        for child_name, child in module.named_children():  # every signal is positive: ReLU6 would cut those above 6
            if isinstance(child, nn.ReLU6):
                setattr(module, child_name, nn.ReLU())
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.abs_()
    net(torch.ones((1, *images.shape[1:]), dtype=torch.float64)).sum().backward()
    total = _saliency(net)
    return float(np.log10(total)) if total > 0 else float("-inf")


def _loss_gradients(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[nn.Module]:
    net.train()
    net.zero_grad()
    nn.functional.cross_entropy(net(images), labels).backward()
    return _weighted_layers(net)


def snip(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    _loss_gradients(net, images, labels)
    return _saliency(net)


def grad_norm(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return sum(float(m.weight.grad.norm()) for m in _loss_gradients(net, images, labels))


def zero_cost_scores(archs: list[Arch], images: torch.Tensor, labels: torch.Tensor,
                     init_seeds: list[int]) -> dict[str, list[float]]:
    """Per proxy, per arch, the mean over `init_seeds` of the proxy on its freshly initialised net."""
    scores: dict[str, list[float]] = {proxy: [] for proxy in PROXIES}
    for arch in archs:
        per_seed: dict[str, list[float]] = {proxy: [] for proxy in PROXIES}
        for seed in init_seeds:
            torch.manual_seed(seed)
            net = build_subnet(arch)
            per_seed["naswot"].append(naswot(net, images))
            per_seed["synflow"].append(synflow(net, images))
            per_seed["snip"].append(snip(net, images, labels))
            per_seed["grad_norm"].append(grad_norm(net, images, labels))
        for proxy in PROXIES:
            scores[proxy].append(statistics.mean(per_seed[proxy]))
    return scores
