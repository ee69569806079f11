"""The per-epoch plot callback: both PNGs after every epoch, and a history that travels in
the checkpoint (loadable with weights_only=True) so a resumed search continues its curves."""

from __future__ import annotations

import pytorch_lightning as pl
import pytest
import torch

from hwnas.data import DigitsDataModule
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.search.module import SearchModule
from hwnas.search.one_shot import Average
from hwnas.search.plots import SearchPlots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fitted(tiny_space_path, tiny_table_path, tiny_target_ms, tmp_path_factory):
    folder = tmp_path_factory.mktemp("search")
    pl.seed_everything(0, verbose=False)
    plots = SearchPlots()
    trainer = pl.Trainer(max_epochs=3, limit_train_batches=2, limit_val_batches=0, accelerator="cpu",
                         default_root_dir=folder, callbacks=[plots], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    model = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, one_shot=Average(epochs=1),
                         derive=DeriveSettings(floor=0.0))
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    return trainer, plots, folder


def test_both_plots_are_written_into_the_run_folder(fitted):
    _, _, folder = fitted
    for name in ("alphas.png", "latency.png"):
        data = (folder / "plots" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000  # a drawn figure, not an empty canvas


def test_one_history_point_per_epoch_with_probabilities_that_sum_to_one(fitted):
    _, plots, _ = fitted
    assert plots.epochs == [0, 1, 2] and len(plots.expected_ms) == len(plots.derived_ms) == 3
    assert all(abs(sum(layer) - 1) < 1e-5 for epoch in plots.probabilities for layer in epoch)


def test_the_history_is_saved_in_the_checkpoint_and_restored_on_resume(fitted, tmp_path):
    trainer, plots, _ = fitted
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    state = torch.load(tmp_path / "last.ckpt", weights_only=True)["callbacks"]["SearchPlots"]
    resumed = SearchPlots()
    resumed.load_state_dict(state)
    assert resumed.state_dict() == plots.state_dict()
