"""The retrain's options against seed noise: the weights it saves are the moving average when asked,
and the learning rate warms up before its cosine."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from hwnas.data import DigitsDataModule
from hwnas.errors import HwnasError
from hwnas.retrain.module import RetrainModule


class LearningRates(pl.Callback):
    def __init__(self):
        self.seen = []  # the learning rate each step ran with

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.seen.append(trainer.optimizers[0].param_groups[0]["lr"])


def short_retrain(arch_path, root, batches: int = 5, **options) -> tuple[RetrainModule, dict, list[float]]:
    """`batches` batches of 8×8 digits; returns the module, its initial weights and the step learning rates."""
    pl.seed_everything(0, verbose=False)
    module = RetrainModule(str(arch_path), **options)
    initial = {name: value.clone() for name, value in module.net.state_dict().items()}
    rates = LearningRates()
    trainer = pl.Trainer(max_epochs=2, limit_train_batches=batches, limit_val_batches=0, accelerator="cpu",
                         default_root_dir=root, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[rates])
    trainer.fit(module, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.0))
    return module, initial, rates.seen


def test_the_saved_weights_are_the_moving_average(tiny_run, tmp_path):
    """At decay 0.999999 the average stays where it started (the weights after the first step),
    while the trained weights move on for 9 more steps: the net that is tested and written to
    subnet.pt is the average."""
    arch = tiny_run / "search" / "arch.json"
    plain, initial, _ = short_retrain(arch, tmp_path / "plain")
    short_retrain(arch, tmp_path / "averaged", ema_decay=0.999999)
    saved = torch.load(tmp_path / "averaged" / "subnet.pt", weights_only=True)
    trained = plain.net.state_dict()

    def moved(weights: dict) -> float:
        return sum(float((weights[n] - initial[n]).norm()) for n in initial if initial[n].dtype.is_floating_point)
    assert moved(saved) < 0.5 * moved(trained)


def test_the_learning_rate_rises_over_the_warmup(tiny_run, tmp_path):
    """2 epochs of 5 steps, 1 of warm-up: lr/100 at the first step, rising to lr at step 5, then down."""
    _, _, seen = short_retrain(tiny_run / "search" / "arch.json", tmp_path, warmup_epochs=1, lr=0.05)
    assert seen[0] == pytest.approx(0.0005) and seen[5] == pytest.approx(0.05)
    assert seen[:6] == sorted(seen[:6]) and seen[5:] == sorted(seen[5:], reverse=True)


@pytest.mark.parametrize("options, message", [({"ema_decay": 1.0}, "ema_decay must be in"),
                                              ({"warmup_epochs": -1}, "warmup_epochs must be")])
def test_a_bad_option_is_one_line(tiny_run, options, message):
    with pytest.raises(HwnasError, match=message):
        RetrainModule(str(tiny_run / "search" / "arch.json"), **options)
