"""A layer whose sampled op is `zero` ran nothing in that arch step: CE gives its alphas no
gradient, so the latency term must not push them alone (it used to, towards the cheap ops)."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from hwnas.data import DigitsDataModule
from hwnas.data.seeding import generator
from hwnas.latency.objective import LossConfig
from hwnas.latency.table import load_table
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.search.algorithms import Gumbel, Proxyless
from hwnas.search.algorithms.gumbel import hard_sample
from hwnas.search.algorithms.proxyless import sample_full_gate, sample_two_gate
from hwnas.search.module import SearchModule
from hwnas.search.one_shot import Average


@pytest.mark.parametrize("algorithm", [Proxyless(gate="full", arch_lr=0.05), Proxyless(gate="two", arch_lr=0.05),
                                       Gumbel(arch_lr=0.05)], ids=["proxyless-full", "proxyless-two", "gumbel"])
def test_a_skipped_layer_gets_no_latency_only_push(tiny_space_path, tiny_table_path, tmp_path, algorithm):
    """The target is the space's fastest arch, so the strong latency term pushes every layer cheaper."""
    fastest, _ = load_table(tiny_table_path).latency_range_ms()
    pl.seed_everything(0, verbose=False)
    model = SearchModule(str(tiny_space_path), str(tiny_table_path), fastest, LossConfig(lam=10.0), Average(epochs=0),
                         algorithm, DeriveSettings(floor=0.0))
    with torch.no_grad():  # zero very likely wherever it is a candidate, the rest unequal
        for mixed in model.supernet.mixed_ops:
            mixed.alphas.copy_(torch.tensor([5.0 if zero else 0.3 * j for j, zero in enumerate(mixed.is_zero)]))
    before = [a.detach().clone() for a in model.supernet.arch_parameters()]
    randomness = generator(0, 0)  # what batch 0 of seed 0 samples in its arch step
    if isinstance(algorithm, Gumbel):  # the sampled index does not depend on τ
        active = [hard_sample(mixed.alphas, 1.0, randomness)[0] for mixed in model.supernet.mixed_ops]
    else:
        sample = sample_two_gate if algorithm.gate == "two" else sample_full_gate
        active = [sample(mixed.alphas, randomness)[0] for mixed in model.supernet.mixed_ops]
    skipped = [layer for layer, (mixed, a) in enumerate(zip(model.supernet.mixed_ops, active)) if mixed.is_zero[a]]
    ran = [layer for layer in range(len(active)) if layer not in skipped]
    assert skipped and ran  # the tiny space: two stride-1 layers with zero, one stride-2 layer without
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=0, accelerator="cpu", logger=False,
                         default_root_dir=tmp_path,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    after = model.supernet.arch_parameters()
    assert all(torch.equal(after[layer].detach(), before[layer]) for layer in skipped)
    assert all(not torch.equal(after[layer].detach(), before[layer]) for layer in ran)
