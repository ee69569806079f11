"""Mixed precision and the GPU path: bf16-mixed runs the search's manual optimization and the
retrain on the CPU here, and on a CUDA GPU (skipped without one); both train channels-last."""

from __future__ import annotations

import json

import pytest
import torch

from hwnas.cli import main

FEW_STEPS = ["--model.one_shot.epochs", "1", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2",
             "--trainer.limit_val_batches", "1"]
NO_CUDA = "needs a CUDA GPU (torch.cuda.is_available() is False here)"


def search_and_retrain(tmp_path, tiny_search_args, quiet, *trainer: str) -> None:
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "search"),
                 *tiny_search_args, *FEW_STEPS, *trainer, *quiet]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(tmp_path / "search/arch.json"),
                 "--run_dir", str(tmp_path / "retrain"), "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "2", *trainer, *quiet]) == 0
    assert 0 <= json.loads((tmp_path / "retrain/retrain.json").read_text())["test_accuracy"] <= 1


def test_bf16_mixed_search_and_retrain_on_the_cpu(tmp_path, tiny_search_args, quiet):
    search_and_retrain(tmp_path, tiny_search_args, quiet, "--trainer.precision", "bf16-mixed")


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_bf16_mixed_search_and_retrain_on_a_gpu(tmp_path, tiny_search_args, quiet):
    search_and_retrain(tmp_path, tiny_search_args, quiet, "--trainer.accelerator", "gpu",
                       "--trainer.precision", "bf16-mixed")


@pytest.mark.parametrize("accelerator", ["cpu", pytest.param("gpu", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason=NO_CUDA))])
def test_a_fit_trains_channels_last(accelerator):
    import pytorch_lightning as pl

    from hwnas.training.channels_last import ChannelsLast

    class Probe(ChannelsLast, pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 8, 3)
            self.seen_channels_last = []

        def training_step(self, batch, batch_idx):
            (x,) = batch
            self.seen_channels_last.append(x.is_contiguous(memory_format=torch.channels_last))
            return self.conv(x).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    probe = Probe()
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 3, 8, 8)), batch_size=2)
    pl.Trainer(accelerator=accelerator, devices=1, max_steps=2, logger=False, enable_checkpointing=False,
               enable_progress_bar=False).fit(probe, data)
    assert probe.seen_channels_last == [True, True]
    assert probe.conv.weight.is_contiguous(memory_format=torch.channels_last)
