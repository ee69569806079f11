"""Search modes chosen in the recipe: each one trains what it should, arch steps come every
`arch_every` batches, and a bad option is a one-line error."""

from __future__ import annotations

import json

import pytest
import pytorch_lightning as pl
import torch

from hwnas.cli import main
from hwnas.data import DigitsDataModule
from hwnas.errors import HwnasError
from hwnas.search.module import SearchModule, check_search_options


def short_search(space_path, table_path, target_ms: float, batches: int, root, **options) -> SearchModule:
    """One epoch of `batches` search batches (no warm-up) on 8×8 digits; its records go into `root`."""
    pl.seed_everything(0, verbose=False)
    model = SearchModule(str(space_path), str(table_path), target_ms=target_ms, warmup_epochs=0, arch_lr=0.05,
                         derive_floor=0.0, **options)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=batches, limit_val_batches=0, accelerator="cpu",
                         default_root_dir=root, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    return model


@pytest.mark.parametrize("options", [
    {"mode": "binary", "gate": "full"},
    {"mode": "binary", "gate": "two"},
    {"mode": "binary", "estimator": "reinforce", "reward_weight": 1.0},
    {"mode": "gumbel"},
    {"mode": "softmax"},
    {"mode": "sum"},
], ids=lambda options: "-".join(str(value) for value in options.values()))
def test_each_mode_trains_the_weights_and_only_sum_leaves_the_alphas_alone(tiny_space_path, tiny_table_path,
                                                                          tiny_target_ms, tmp_path, options):
    torch.manual_seed(0)
    initial = SearchModule(str(tiny_space_path), str(tiny_table_path), target_ms=tiny_target_ms, derive_floor=0.0).supernet
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 3, tmp_path, **options)
    moved = [float((a - b).abs().max()) for a, b in zip(model.supernet.arch_parameters(), initial.arch_parameters())]
    head_before, head_after = initial.head.classifier.weight, model.supernet.head.classifier.weight
    assert not torch.allclose(head_before, head_after)
    if options["mode"] == "sum":
        assert max(moved) == 0.0  # no arch steps: the alphas are still their initialisation
    else:  # 3 Adam steps; a layer that sampled `zero` each time gets none (test_zero_layers.py). Counted by
        # Adam, not by net movement: the two-path gate on a 2-candidate layer can step +lr, −lr, +lr.
        arch_opt = model.optimizers()[1].optimizer
        always = [mixed.alphas for mixed in model.supernet.mixed_ops if not any(mixed.is_zero)]
        assert {int(arch_opt.state[a]["step"]) for a in always} == {3} and max(moved) > 1e-3


@pytest.mark.parametrize("arch_every, steps", [(1, 7), (3, 3)])
def test_arch_steps_come_every_k_batches(tiny_space_path, tiny_table_path, tiny_target_ms, tmp_path, arch_every,
                                         steps):
    """7 batches: every batch, or batches 0, 3 and 6; counted by Adam's own step counter on the
    layer without a `zero` candidate (a layer whose sampled op is zero gets no gradient, and Adam
    skips it, see supernet.latency_probabilities)."""
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 7, tmp_path, arch_every=arch_every)
    arch_opt = model.optimizers()[1].optimizer
    always = [m.alphas for m in model.supernet.mixed_ops if not any(m.is_zero)]
    assert always and {int(arch_opt.state[a]["step"]) for a in always} == {steps}


def test_a_fair_one_shot_step_trains_every_candidate_of_every_layer(tiny_space_path, tiny_table_path, tiny_target_ms,
                                                                    tmp_path):
    """One weight step of fair one-shot training moves the weights of every candidate (FairNAS)."""
    torch.manual_seed(0)
    initial = SearchModule(str(tiny_space_path), str(tiny_table_path), target_ms=tiny_target_ms, derive_floor=0.0).supernet
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 1, tmp_path, mode="sum",
                         one_shot_training="fair")
    for before, after in zip(initial.mixed_ops, model.supernet.mixed_ops):
        for name, old, new in zip(after.names, before.candidates, after.candidates):
            moved = [not torch.equal(a, b) for a, b in zip(old.parameters(), new.parameters())]
            assert name == "zero" or all(moved), name


@pytest.mark.parametrize("options, message", [
    ({"mode": "darts"}, "unknown search mode 'darts': use one of binary, gumbel, softmax, sum"),
    ({"loss_form": "quadratic"}, "unknown search loss_form 'quadratic'"),
    ({"target_ms": 0}, "latency target must be a positive number"),
    ({"tau_start": 0.1, "tau_end": 1.0}, "0 < tau_end ≤ tau_start"),
    ({"derive_floor": 1.0}, "derive_floor"),
    ({"gate": "three"}, "unknown search gate 'three'"),
    ({"estimator": "ppo"}, "unknown search estimator 'ppo'"),
    ({"mode": "softmax", "gate": "two"}, "mode 'softmax' samples none"),
    ({"estimator": "reinforce", "gate": "two"}, "use gate full"),
    ({"arch_every": 0}, "need arch_every ≥ 1"),
    ({"one_shot_training": "spos"}, "unknown one_shot_training 'spos': use one of average, fair"),
])
def test_a_bad_option_is_a_one_line_error_naming_it(options, message):
    settings = {"mode": "binary", "gate": "full", "estimator": "binary_connect", "loss_form": "abs_ratio",
                "target_ms": 0.05, "arch_every": 1, "warmup_epochs": 0, "reward_weight": 0.1, "tau_start": 5.0,
                "tau_end": 0.5, "derive_floor": 0.9, **options}
    with pytest.raises(HwnasError, match=message) as error:
        check_search_options(**settings)
    assert "\n" not in str(error.value)


def test_a_bad_combination_on_the_command_line_is_one_line_and_exit_2(capsys):
    assert main(["search", "--config", "recipes/search_demo.yaml", "--model.mode", "softmax",
                 "--model.gate", "two"]) == 2
    stderr = capsys.readouterr().err  # may also hold LightningCLI's warning about pytest's own argv
    errors = [line for line in stderr.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and "gate 'two'" in errors[0] and "Traceback" not in stderr


def test_sum_mode_writes_no_arch_and_names_the_select_command(tiny_search_args, tmp_path, capsys):
    """Its alphas never trained, so an argmax of them would be noise posing as a result."""
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path),
                 *tiny_search_args, "--model.mode", "sum",
                 "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "0",
                 "--trainer.enable_progress_bar", "false"]) == 0
    assert json.loads((tmp_path / "search.json").read_text())["mode"] == "sum"
    assert not (tmp_path / "arch.json").exists() and (tmp_path / "checkpoints/last.ckpt").is_file()
    assert f"hwnas select --ckpt {tmp_path}/checkpoints/last.ckpt" in capsys.readouterr().out
