"""`hwnas search`: the search module's LightningCLI (training/stage_cli.py), and its DDP strategy."""

from __future__ import annotations

from pytorch_lightning.strategies import DDPStrategy, Strategy

from hwnas.net.space import load_space
from hwnas.search.module import SearchModule
from hwnas.training.stage_cli import StageCLI, run_stage

# Model fields of the release before the algorithms and one-shot rules became classes (7c7bfa7), and
# what replaced each: a recipe or command line that still gives one is told in one line.
ALGORITHM = "--model.algorithm (Proxyless, Reinforce, Gumbel, Darts or OneShotOnly)"
ONE_SHOT = "--model.one_shot (Average or Fair)"
RENAMED = {
    "mode": ALGORITHM, "estimator": ALGORITHM, "gate": "--model.algorithm.gate (with Proxyless)",
    "reward_weight": "--model.algorithm.reward_weight (with Reinforce)",
    "baseline_decay": "--model.algorithm.baseline_decay (with Reinforce)",
    "tau_start": "--model.algorithm.tau_start (with Gumbel)", "tau_end": "--model.algorithm.tau_end (with Gumbel)",
    "arch_lr": "--model.algorithm.arch_lr", "arch_every": "--model.algorithm.arch_every",
    "one_shot_training": ONE_SHOT, "warmup_epochs": "--model.one_shot.epochs",
    "max_drop_prob": "--model.one_shot.max_drop_prob (with Average)", "weight_lr": "--model.one_shot.lr",
    "weight_momentum": "--model.one_shot.momentum", "weight_decay": "--model.one_shot.weight_decay",
    "loss_form": "--model.loss.form", "loss_lambda": "--model.loss.lam", "loss_alpha": "--model.loss.alpha",
    "loss_beta": "--model.loss.beta", "derive_floor": "--model.derive.floor", "measure_derived": "--model.derive.measure",
}


def search_strategy(strategy: str | Strategy, devices: int | str | list[int], num_nodes: int) -> str | Strategy:
    """The search's Trainer strategy: any DDP it runs has find_unused_parameters=True.

    A single-path step runs one candidate per layer, so the other candidates' weights (and,
    in weight steps, the alphas) get no gradient; plain DDP waits for them and fails on the
    next step ("Expected to have finished reduction in the prior iteration"). With the flag,
    DDP walks the loss's autograd graph before each backward and marks the rest ready. Every
    rank samples the same paths, so a parameter unused on one rank is unused on all, and DDP
    then leaves its .grad None, as a single process would: SGD skips it.
    `ddp`, and `auto` on devices named explicitly as more than one (2, "2", [0, 1]) or on
    several nodes, become that DDP (gloo on CPUs, NCCL on GPUs, as Lightning picks). Anything
    else passes through; a plain DDP that Lightning picks by itself (devices -1 or "auto" on
    several GPUs) is refused with a message by SearchModule.on_fit_start.
    """
    if isinstance(devices, str) and devices.strip().isdigit():
        devices = int(devices)
    several = (isinstance(devices, int) and devices > 1) or (isinstance(devices, list) and len(devices) > 1)
    if strategy == "ddp" or (strategy == "auto" and (several or num_nodes > 1)):
        return DDPStrategy(find_unused_parameters=True)
    return strategy


class SearchCLI(StageCLI):
    stage, space_source, renamed = "search", "model.space", RENAMED
    space_of = staticmethod(load_space)

    def instantiate_trainer(self, **kwargs):
        trainer = self.config_init["trainer"]
        return super().instantiate_trainer(
            strategy=search_strategy(trainer["strategy"], trainer["devices"], trainer["num_nodes"]), **kwargs)


def run_search(args: list[str]) -> None:
    run_stage(SearchCLI, SearchModule, args)
