"""Search algorithms and one-shot rules chosen in the recipe: each one trains what it should, arch
steps come every `arch_every` batches, and a bad option is a one-line error."""

from __future__ import annotations

import json
import re

import pytest
import pytorch_lightning as pl
import torch

from hwnas.cli import main
from hwnas.data import DigitsDataModule
from hwnas.errors import HwnasError
from hwnas.latency.objective import LossConfig
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.search.algorithms import ALGORITHMS, Darts, Gumbel, OneShotOnly, Proxyless, Reinforce
from hwnas.search.module import SearchModule
from hwnas.search.one_shot import ONE_SHOT_RULES, Average, Fair, Sandwich, SinglePath

NO_FLOOR = DeriveSettings(floor=0.0)


def short_search(space_path, table_path, target_ms: float, batches: int, root, algorithm=None,
                 one_shot=None) -> SearchModule:
    """One epoch of `batches` batches (no one-shot epochs unless the algorithm trains no alphas) on 8×8
    digits; its records go into `root`."""
    pl.seed_everything(0, verbose=False)
    model = SearchModule(str(space_path), str(table_path), target_ms, one_shot=one_shot or Average(epochs=0),
                         algorithm=algorithm or Proxyless(arch_lr=0.05), derive=NO_FLOOR)
    trainer = pl.Trainer(max_epochs=1, limit_train_batches=batches, limit_val_batches=0, accelerator="cpu",
                         default_root_dir=root, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False)
    trainer.fit(model, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    return model


@pytest.mark.parametrize("algorithm", [
    Proxyless(gate="full", arch_lr=0.05), Proxyless(gate="two", arch_lr=0.05),
    Reinforce(reward_weight=1.0, arch_lr=0.05), Gumbel(arch_lr=0.05), Darts(arch_lr=0.05), OneShotOnly(),
], ids=lambda algorithm: "-".join(str(value) for value in algorithm.settings().values() if value not in (0.05, 1)))
def test_each_algorithm_trains_the_weights_and_only_one_shot_only_leaves_the_alphas_alone(
        tiny_space_path, tiny_table_path, tiny_target_ms, tmp_path, algorithm):
    torch.manual_seed(0)
    initial = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, derive=NO_FLOOR).supernet
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 3, tmp_path, algorithm)
    moved = [float((a - b).abs().max()) for a, b in zip(model.supernet.arch_parameters(), initial.arch_parameters())]
    head_before, head_after = initial.head.classifier.weight, model.supernet.head.classifier.weight
    assert not torch.allclose(head_before, head_after)
    if not algorithm.trains_alphas:
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
    skips it, see search/algorithms/base.py's hold_skipped_layers)."""
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 7, tmp_path,
                         Proxyless(arch_lr=0.05, arch_every=arch_every))
    arch_opt = model.optimizers()[1].optimizer
    always = [m.alphas for m in model.supernet.mixed_ops if not any(m.is_zero)]
    assert always and {int(arch_opt.state[a]["step"]) for a in always} == {steps}


def test_a_fair_one_shot_step_trains_every_candidate_of_every_layer(tiny_space_path, tiny_table_path, tiny_target_ms,
                                                                    tmp_path):
    """One weight step of fair one-shot training moves the weights of every candidate (FairNAS)."""
    torch.manual_seed(0)
    initial = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, derive=NO_FLOOR).supernet
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 1, tmp_path, OneShotOnly(), Fair())
    for before, after in zip(initial.mixed_ops, model.supernet.mixed_ops):
        for name, old, new in zip(after.names, before.candidates, after.candidates):
            moved = [not torch.equal(a, b) for a, b in zip(old.parameters(), new.parameters())]
            assert name == "zero" or all(moved), name


def test_a_single_path_step_trains_one_uniformly_drawn_path(tiny_space_path, tiny_table_path, tiny_target_ms,
                                                            tmp_path):
    """SPOS: one weight step trains exactly one candidate per layer, and over many steps every candidate
    is drawn about equally often (uniform, whatever the alphas say)."""
    from hwnas.data.seeding import generator
    from hwnas.search.one_shot.spos import uniform_path

    torch.manual_seed(0)
    initial = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, derive=NO_FLOOR).supernet
    model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 1, tmp_path, OneShotOnly(), SinglePath())
    for before, after in zip(initial.mixed_ops, model.supernet.mixed_ops):
        trained = [name for name, old, new in zip(after.names, before.candidates, after.candidates)
                   if any(not torch.equal(a, b) for a, b in zip(old.parameters(), new.parameters()))]
        assert len(trained) <= 1  # one path (a layer that drew zero trains nothing)
    with torch.no_grad():  # alphas that favour one candidate strongly: SPOS must not follow them
        for mixed in model.supernet.mixed_ops:
            mixed.alphas.copy_(torch.tensor([5.0] + [0.0] * (len(mixed.names) - 1)))
    draws = torch.tensor([uniform_path(model.supernet, generator(0, step)) for step in range(900)])  # (steps, layers)
    for layer, mixed in enumerate(model.supernet.mixed_ops):
        counts = torch.bincount(draws[:, layer], minlength=len(mixed.names)).float()
        assert counts.min() > 900 / len(mixed.names) * 0.8, (layer, counts)


def test_a_sandwich_step_trains_the_extremes_on_labels_and_distils_the_rest(tiny_space_path, tiny_table_path,
                                                                             tiny_target_ms):
    """The largest path (most weights per layer) learns from the labels, the smallest (zero where allowed)
    and the drawn ones from the largest's predictions: with a teacher that is certain of one class, a
    student's distillation loss is its cross-entropy against that class."""
    from hwnas.data.seeding import generator
    from hwnas.search.one_shot.sandwich import extreme_paths

    torch.manual_seed(0)
    net = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, derive=NO_FLOOR).supernet
    largest, smallest = extreme_paths(net)
    assert [mixed.names[i] for mixed, i in zip(net.mixed_ops, largest)] == ["mb_k7_e6"] * 3
    assert [mixed.names[i] for mixed, i in zip(net.mixed_ops, smallest)] == ["zero", "zero", "mb_k3_e1"]
    x, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    losses = Sandwich(random_paths=2).losses(net.train(), x, y, generator(0, 0), 0.0)
    assert len(losses) == 4
    values = [float(loss()) for loss in losses]  # the largest first: its soft labels teach the others
    assert values[0] == pytest.approx(float(torch.nn.functional.cross_entropy(net(x, largest), y)) / 4, rel=1e-4)
    assert all(v > 0 for v in values)


def test_gradient_clipping_bounds_the_weight_step(tiny_space_path, tiny_table_path, tiny_target_ms, tmp_path):
    """With grad_clip, one SGD step (lr 0.05, no momentum) moves the weights by at most
    lr · clip in norm; without it, the first step of an untrained supernet moves them further."""
    def step_norm(clip):
        torch.manual_seed(0)
        initial = [p.detach().clone() for p in SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms,
                                                            derive=NO_FLOOR).supernet.weight_parameters()]
        model = short_search(tiny_space_path, tiny_table_path, tiny_target_ms, 1, tmp_path, OneShotOnly(),
                             Average(momentum=0.0, weight_decay=0.0, grad_clip=clip))
        return float(torch.stack([(a - b).norm() for a, b in zip(model.supernet.weight_parameters(), initial)]).norm())
    assert step_norm(0.01) <= 0.05 * 0.01 * 1.0001 < step_norm(None)


@pytest.mark.parametrize("build, message", [
    (lambda: LossConfig(form="quadratic"), "--model.loss.form must be one of abs_ratio, add_linear, mul_log"),
    (lambda: LossConfig(lam=-0.5), "--model.loss.lam must be a finite number ≥ 0, got -0.5"),
    (lambda: Gumbel(tau_start=0.1, tau_end=1.0), "0 < tau_end ≤ tau_start"),
    (lambda: DeriveSettings(floor=1.0), "--model.derive.floor is the share of the target"),
    (lambda: Proxyless(gate="three"), "--model.algorithm.gate must be one of full, two, got 'three'"),
    (lambda: Proxyless(arch_every=0), "--model.algorithm.arch_every must be at least 1, got 0"),
    (lambda: Proxyless(arch_lr=float("nan")), "--model.algorithm.arch_lr must be a finite number ≥ 0, got nan"),
    (lambda: Reinforce(baseline_decay=1.0), "--model.algorithm.baseline_decay must be in [0, 1)"),
    (lambda: Average(max_drop_prob=1.5), "--model.one_shot.max_drop_prob must be in [0, 1), got 1.5"),
    (lambda: Average(epochs=-1), "--model.one_shot.epochs must be at least 0, got -1"),
    (lambda: Fair(grad_clip=-1.0), "--model.one_shot.grad_clip must be a finite number ≥ 0, got -1.0"),
    (lambda: Sandwich(random_paths=-1), "--model.one_shot.random_paths must be at least 0, got -1"),
])
def test_a_bad_option_is_a_one_line_error_naming_it(build, message):
    with pytest.raises(HwnasError, match=re.escape(message)) as error:
        build()
    assert "\n" not in str(error.value)


def test_the_registries_name_every_algorithm_and_rule_once():
    """A recipe's checkpoint names its parts by these keys (records/search_checkpoint.py)."""
    assert set(ALGORITHMS) == {"proxyless", "reinforce", "gumbel", "darts", "one_shot_only"}
    assert set(ONE_SHOT_RULES) == {"average", "fair", "single_path", "sandwich"}
    assert all(ALGORITHMS[name].name == name for name in ALGORITHMS)


@pytest.mark.parametrize("option, says", [
    (["--model.algorithm", "Darts", "--model.algorithm.gate", "two"], "Darts': Option 'gate' is not accepted"),
    (["--model.mode", "sum"], "--model.mode is now --model.algorithm"),
    (["--model.warmup_epochs", "2"], "--model.warmup_epochs is now --model.one_shot.epochs"),
])
def test_a_bad_or_old_option_on_the_command_line_is_one_line_and_exit_2(capsys, option, says):
    assert main(["search", "--config", "recipes/search_demo.yaml", *option]) == 2
    stderr = capsys.readouterr().err  # may also hold LightningCLI's warning about pytest's own argv
    errors = [line for line in stderr.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and says in errors[0] and "Traceback" not in stderr


def test_a_one_shot_only_search_writes_no_arch_and_names_the_select_command(tiny_search_args, tmp_path, capsys):
    """Its alphas never trained, so an argmax of them would be noise posing as a result."""
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path),
                 *tiny_search_args, "--model.algorithm", "OneShotOnly",
                 "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "0",
                 "--trainer.enable_progress_bar", "false"]) == 0
    assert json.loads((tmp_path / "search.json").read_text())["settings"]["algorithm"]["name"] == "one_shot_only"
    assert not (tmp_path / "arch.json").exists() and (tmp_path / "checkpoints/last.ckpt").is_file()
    assert f"hwnas select --ckpt {tmp_path}/checkpoints/last.ckpt" in capsys.readouterr().out
