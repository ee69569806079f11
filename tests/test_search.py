"""The search trains through Lightning and the latency term steers it: same seed and data,
a tight target ends in a faster arch than a loose one."""

from __future__ import annotations

import pytorch_lightning as pl
import pytest
import torch

from hwnas.data import DigitsDataModule
from hwnas.latency.table import load_table
from hwnas.net.space import load_space
from hwnas.latency.objective import LossConfig
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.search.algorithms import Proxyless
from hwnas.search.module import SearchModule
from hwnas.search.one_shot import Average


def search(space_path, table_path, target_ms: float, root) -> SearchModule:
    """The records the search module writes at the end go into `root` (search/record.py)."""
    pl.seed_everything(0, verbose=False)
    model = SearchModule(str(space_path), str(table_path), target_ms, LossConfig(lam=1.0), Average(epochs=2),
                         Proxyless(arch_lr=0.02), DeriveSettings(floor=0.0))
    trainer = pl.Trainer(max_epochs=6, limit_train_batches=12, limit_val_batches=0, accelerator="cpu",
                         default_root_dir=root, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=64, arch_fraction=0.2))
    return model


@pytest.fixture(scope="module")
def tight_and_loose(tiny_space_path, tiny_table_path, tmp_path_factory):
    space = load_space(tiny_space_path)
    fastest, slowest = load_table(tiny_table_path, space).latency_range_ms(space)
    return (search(tiny_space_path, tiny_table_path, fastest, tmp_path_factory.mktemp("tight")),
            search(tiny_space_path, tiny_table_path, 10 * slowest, tmp_path_factory.mktemp("loose")))


def test_tight_target_derives_a_faster_arch_than_a_loose_one(tight_and_loose):
    tight, loose = tight_and_loose
    assert tight.table.predict_ms(tight.supernet.argmax_arch()) < loose.table.predict_ms(loose.supernet.argmax_arch())


def test_arch_steps_move_the_alphas_away_from_their_initialisation(tight_and_loose):
    tight, _ = tight_and_loose
    assert max(float(a.detach().abs().max()) for a in tight.supernet.arch_parameters()) > 0.05  # init std is 1e-3


def test_weights_learn_during_the_search(tight_and_loose):
    """The supernet must actually train: after 6 short epochs, CE well below chance (ln 10 = 2.30)."""
    _, loose = tight_and_loose
    data = DigitsDataModule(resolution=8, channels=1, batch_size=256, arch_fraction=0.2)
    data.setup()
    x, y = next(iter(data.val_dataloader()))
    paths = [int(p.argmax()) for p in loose.supernet.probabilities()]
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(loose.supernet.train()(x, paths), y)
    assert ce < 2.0  # measured 1.67; a supernet whose single paths did not learn sat at 2.30
