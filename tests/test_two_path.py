"""Two-path gate (ProxylessNAS): a sampled pair holding the active op, a backward that costs two
paths whatever |O|, and the rescale that leaves every other candidate's probability as it was."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from hwnas.data import DigitsDataModule
from hwnas.data.seeding import generator
from hwnas.latency.objective import LossConfig
from hwnas.net.space import load_space
from hwnas.net.supernet import MixedOp, SuperNet
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.search.algorithms import Proxyless
from hwnas.search.algorithms.proxyless import BinaryGate, sample_two_gate
from hwnas.search.module import SearchModule
from hwnas.search.one_shot import Average


def pair_samples(net: SuperNet, randomness: torch.Generator) -> tuple[list[int], list[tuple[int, ...]]]:
    """What Proxyless(gate="two")'s arch step samples: per layer the active op and its pair."""
    active, gated = zip(*(sample_two_gate(mixed.alphas, randomness) for mixed in net.mixed_ops))
    return list(active), list(gated)


def test_two_path_sample_is_a_distinct_pair_holding_the_active_candidate():
    net = SuperNet(load_space("recipes/spaces/demo.yaml"))
    for seed in range(20):
        active, gated = pair_samples(net, torch.Generator().manual_seed(seed))
        assert all(len(set(pair)) == 2 and a in pair for a, pair in zip(active, gated))


@pytest.mark.parametrize("gated, runs", [((0, 1), 2), (tuple(range(7)), 6)])
def test_an_arch_step_runs_two_paths_with_a_pair_and_every_path_with_the_full_gate(gated, runs):
    """Forward + backward of one demo layer (6 MBConv + zero) with candidate 0 active: the
    backward recomputes only the pair's other candidate, so an arch step's compute and memory
    scale with 2 paths, not |O|; the full gate recomputes all 5 other MBConvs."""
    torch.manual_seed(0)
    mixed = MixedOp(load_space("recipes/spaces/demo.yaml").layers()[1])
    assert mixed.is_zero == [False] * 6 + [True]
    calls = []
    for candidate in mixed.candidates[:6]:
        candidate.register_forward_hook(lambda module, inputs, output: calls.append(module))
    gate = lambda x, out: BinaryGate.apply(out, mixed.alphas, x, mixed.candidates, gated, 0)  # noqa: E731
    mixed.forward_path(torch.randn(2, 16, 16, 16), 0, gate).square().sum().backward()
    assert len(calls) == runs and calls[0] is mixed.candidates[0]
    assert mixed.alphas.grad[list(gated)].abs().min() > 0


def test_two_path_arch_step_leaves_the_other_candidates_probabilities_unchanged(tiny_space_path, tiny_table_path,
                                                                                tiny_target_ms, tmp_path):
    """One search batch (an arch step, Adam, then the rescale; the weight step does not touch
    alphas): outside the sampled pair every probability stays put to 1e-6, inside it moves."""
    pl.seed_everything(0, verbose=False)
    model = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, LossConfig(lam=1.0),
                         Average(epochs=0), Proxyless(gate="two", arch_lr=0.05), DeriveSettings(floor=0.0))
    with torch.no_grad():  # unequal alphas, so that a missing rescale would move the others at first order
        for alphas in model.supernet.arch_parameters():
            alphas.copy_(torch.tensor([1.0, -0.5, 0.3][: len(alphas)]))
    before = [p.detach().clone() for p in model.supernet.probabilities()]
    active, gated = pair_samples(model.supernet, generator(0, 0))  # what batch 0 of seed 0 samples
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, accelerator="cpu", logger=False,
                         default_root_dir=tmp_path,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    after = [p.detach() for p in model.supernet.probabilities()]
    for old, new, pair, a, mixed in zip(before, after, gated, active, model.supernet.mixed_ops):
        others = [j for j in range(len(old)) if j not in pair]
        torch.testing.assert_close(new[others], old[others], rtol=0, atol=1e-6)
        moved = (new[list(pair)] - old[list(pair)]).abs().max()
        assert moved == 0 if mixed.is_zero[a] else moved > 1e-3  # a skipped layer gets no arch gradient
        torch.testing.assert_close(new[list(pair)].sum(), old[list(pair)].sum(), rtol=0, atol=1e-6)
