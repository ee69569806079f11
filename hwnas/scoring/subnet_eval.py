"""The score of one subnet of a trained supernet: BN recalibration, then the arch split's cross-entropy.

A supernet's BatchNorm running statistics mix every path that ever ran (and the one-shot
warm-up's averages of all paths), so they mean nothing for one path: in eval mode the demo's
argmax path scored 8%. Before a candidate is scored its statistics are recomputed for it
alone, the standard practice of once-for-all ("reset BN") and single-path one-shot NAS:

    for every BN module on the path (stem, the chosen candidate of each layer, head):
        running_mean ← 0, running_var ← 1, momentum ← None    (cumulative average)
    forward the calibration batches (train split) in train mode, no grad
        → running_mean = (1/N) Σ_batches mean_b,  running_var = (1/N) Σ_batches var_b
    eval mode: mean cross-entropy (and top-1 accuracy) on the validation batches (the arch split,
               held out from the weights); score = − mean cross-entropy, higher is better

Momentum None makes the statistics an equally weighted average over the N calibration batches,
so they do not depend on what ran before. The loss, not top-1, is the score: it orders archs more
finely (on an arch split of M images top-1 moves in steps of 1/M, and archs of one latency tie),
and for each of four one-shot rules it ordered archs of one latency closer to their retrained
accuracy than top-1 did (BENCHMARKS.md, "Supernet ranking"). The calibration batches are fixed,
so the score of an arch is deterministic; it is cached per arch. Only the path's BN statistics change, and each
candidate resets its own before use, so scoring never depends on the order of candidates.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from hwnas.data.of_run import datamodule_of_run
from hwnas.errors import HwnasError
from hwnas.net.arch import Arch
from hwnas.net.supernet import SuperNet
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import SearchCheckpoint

# What a score is, as select.json and front.json state it.
SCORING = "minus the mean cross-entropy on the search's arch split, BN recalibrated per arch (top-1 accuracy beside it)"


def path_indices(arch: Arch) -> list[int]:
    """The supernet's `paths` argument for an arch: one candidate index per searchable layer."""
    return [layer.candidates.index(op) for layer, op in zip(arch.space.layers(), arch.ops)]


def path_batch_norms(supernet: SuperNet, paths: list[int]) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BN modules that run for these paths: stem, one candidate per layer, head."""
    modules = [supernet.stem, *(mixed.candidates[i] for mixed, i in zip(supernet.mixed_ops, paths)), supernet.head]
    return [m for module in modules for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recalibrate_batch_norm(supernet: SuperNet, paths: list[int], calibration: list[Tensor]) -> None:
    """Replace the path's BN running statistics by their average over the calibration batches."""
    norms = path_batch_norms(supernet, paths)
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches below
    supernet.train()
    for x in calibration:  # (B, C, H, W)
        supernet(x, paths)
    for bn, momentum in zip(norms, momenta):
        bn.momentum = momentum


@torch.no_grad()
def accuracy_and_loss(supernet: SuperNet, paths: list[int], batches: list[tuple[Tensor, Tensor]]) -> tuple[float, float]:
    """Top-1 accuracy and mean cross-entropy of the path in eval mode (BN running statistics), over all batches."""
    supernet.eval()
    correct, loss, count = 0, 0.0, 0
    for x, y in batches:
        logits = supernet(x, paths)
        correct += int((logits.argmax(1) == y).sum())
        loss += float(F.cross_entropy(logits, y, reduction="sum"))
        count += len(y)
    return correct / count, loss / count


class SubnetScorer:
    """score(arch) = − mean cross-entropy on `validation` after BN recalibration on `calibration`, cached,
    with the top-1 accuracy on the same images beside it (`accuracy`, for people reading the results)."""

    def __init__(self, supernet: SuperNet, calibration: list[Tensor], validation: list[tuple[Tensor, Tensor]],
                 datamodule=None, pinned: dict | None = None):
        self.supernet, self.calibration, self.validation = supernet, calibration, validation
        self.datamodule = datamodule  # where calibration and validation come from, if from a data module
        self.pinned = pinned  # a few-shot sub-supernet's {"layer", "op", …}: the only archs it scores
        self.scores: dict[Arch, float] = {}
        self.accuracy: dict[Arch, float] = {}

    @classmethod
    def of_data(cls, supernet: SuperNet, datamodule, calibration_batches: int = 4,
                pinned: dict | None = None) -> SubnetScorer:
        """Scored on `datamodule`'s arch split (set up), BN recalibrated on its first train batches, already
        in seeded random order."""
        train = DataLoader(datamodule.train_set, datamodule.batch_size)
        return cls(supernet, [x for x, _ in islice(train, calibration_batches)], list(datamodule.val_dataloader()),
                   datamodule, pinned)

    def __call__(self, arch: Arch) -> float:
        split = self.pinned
        if split is not None and arch.ops[split["layer"]] != split["op"]:
            raise HwnasError(f"this supernet is a few-shot sub-supernet: it holds only the archs with {split['op']} in "
                             f"layer {split['layer']}, and {' '.join(arch.ops)} is not one; score it with the "
                             f"sub-supernet of its op (search/few_shot.py)")
        if arch not in self.scores:
            paths = path_indices(arch)
            recalibrate_batch_norm(self.supernet, paths, self.calibration)
            self.accuracy[arch], cross_entropy = accuracy_and_loss(self.supernet, paths, self.validation)
            self.scores[arch] = -cross_entropy
        return self.scores[arch]


def scorer_of_search(checkpoint: SearchCheckpoint, calibration_batches: int = 4, data_config: str | Path | None = None,
                     trusted: bool = False) -> SubnetScorer:
    """The scorer of a trained supernet, on the data its search held out (the one factory select, front
    and the final check use). The data module comes from the search run's resolved config
    (RUN/search/logs/config.yaml, or `data_config`), so the arch split the candidates are scored on is
    exactly the one the search held out from the weights (same data, seed and arch_fraction); `trusted`:
    see data/of_run.py. The calibration batches are the train split's first, already in seeded random
    order. The test split is never read."""
    if calibration_batches < 1:
        raise HwnasError(f"need at least 1 calibration batch, got {calibration_batches}")
    config = Path(data_config) if data_config else RunFolder.of_checkpoint(checkpoint.path).config
    datamodule = datamodule_of_run(config, checkpoint.supernet.space,
                                   "pass the search's logs/config.yaml with --data_config", trusted)
    if not datamodule.arch_fraction > 0:
        raise HwnasError(f"{config}: the search had no arch split (data.arch_fraction = 0), so every "
                         f"image trained the weights; nothing is left to score subnets on")
    datamodule.setup("fit")
    return SubnetScorer.of_data(checkpoint.supernet, datamodule, calibration_batches,
                                checkpoint.settings.algorithm.get("split"))
