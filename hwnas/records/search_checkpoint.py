"""A search checkpoint's own record, and a trained supernet back from it, for derive, select and front.

The search embeds beside Lightning's state (SearchModule.on_save_checkpoint)::

    checkpoint["hwnas"] = {"space": {…the space definition…},
                           "table": {"path", "sha256", "device"},       # latency/table.py's TableRef
                           "settings": {"space", "table", "target_ms", "loss": {…}, "one_shot": {"name", …},
                                        "algorithm": {"name", …}, "trains_alphas", "derive": {"floor", "measure"},
                                        "seed"}}

The checkpoint is read with `torch.load(weights_only=True)` (tensors and plain values only: safe to
load from a stranger), and nothing in it is imported or followed by name: the algorithm and the
one-shot rule are registry names, and the table path is opened only when a stage asks for the
search's table. The space comes from the embedded definition, never from the YAML the search was
started with, which may have been edited since. Checkpoints written before `settings` existed
(7c7bfa7 and earlier) keep the search's options as flat hyperparameters; `SearchSettings.from_json`
reads both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import InitVar, asdict, dataclass
from pathlib import Path
from typing import Literal

from hwnas.errors import HwnasError
from hwnas.latency.objective import LossConfig
from hwnas.latency.table import LatencyTable, TableRef, load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.net.space import parse_space
from hwnas.net.supernet import SuperNet
from hwnas.records.arch_record import DEFAULT_FLOOR
from hwnas.files.saved_state import check_fits, read_saved

log = logging.getLogger(__name__)
CHECKPOINT_KEY = "hwnas"  # what a search checkpoint embeds beside Lightning's state


RankBy = Literal["supernet", "parameters", "both"]
RANK_BY: tuple[RankBy, ...] = ("supernet", "parameters", "both")


@dataclass(frozen=True)
class FinalCheck:
    """The final check (final_check/contest.py): the `candidates` best archs in the window by `rank_by`
    (the supernet's score, the parameter count, or the mean of their ranks), among `pool` drawn there,
    trained briefly from scratch and halved by arch-split accuracy: `epochs` each at first, twice as many
    at each halving, until one is left or the next rung would end past `minutes` or past `epoch_budget`
    (the epochs of all candidates' trainings added up). Each candidate is trained `trainings` times in a
    rung (seeds seed, seed + 1, …) and scored by their mean. 0 candidates: off. `_options` names the
    command-line option that set each field, for its error (default: the search recipe's keys; its
    leading underscore keeps it out of the search's options, which jsonargparse reads off __init__)."""
    candidates: int = 0
    epochs: int = 1
    trainings: int = 1
    minutes: float | None = None
    epoch_budget: int | None = None
    pool: int = 64
    rank_by: RankBy = "both"
    _options: InitVar[Mapping[str, str] | None] = None

    def __post_init__(self, _options: Mapping[str, str] | None):
        def option(name: str) -> str:
            return (_options or {}).get(name, f"--model.derive.final_check.{name}")

        for name, minimum in [("candidates", 0), ("epochs", 1), ("trainings", 1), ("pool", 1)]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise HwnasError(f"{option(name)} is a whole number ≥ {minimum}, got {value!r}")
        if self.candidates > self.pool:
            raise HwnasError(f"{option('candidates')} {self.candidates} is more than its pool {self.pool}: "
                             f"raise {option('pool')}")
        if self.minutes is not None and not (isinstance(self.minutes, (int, float)) and 0 < self.minutes < 1e6):
            raise HwnasError(f"{option('minutes')} is a positive number of minutes, got {self.minutes!r}")
        budget, first_rung = self.epoch_budget, self.candidates * self.epochs * self.trainings
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < first_rung):
            raise HwnasError(f"{option('epoch_budget')} is a whole number of epochs, at least the first rung's "
                             f"{self.candidates} candidates × {self.epochs} epochs × {self.trainings} training(s) = "
                             f"{first_rung}: got {budget!r}")
        if self.rank_by not in RANK_BY:
            raise HwnasError(f"{option('rank_by')} is one of {', '.join(RANK_BY)}, got {self.rank_by!r}")


@dataclass(frozen=True)
class DeriveSettings:
    """How a search chooses its arch at the end (a search recipe's `model.derive`)."""
    floor: float = DEFAULT_FLOOR  # the arch is the most probable one predicted inside [floor · T, T] (derive/window.py)
    measure: bool = True  # measure it here, when the table is this machine's, and correct the budget (derive/on_device.py)
    final_check: FinalCheck = FinalCheck()  # off unless its candidates are set (final_check/contest.py)

    def __post_init__(self):
        if not (isinstance(self.floor, (int, float)) and 0 <= self.floor < 1):
            raise HwnasError(f"--model.derive.floor is the share of the target the arch must reach, in [0, 1): "
                             f"got {self.floor}")

    @classmethod
    def from_json(cls, data: dict) -> DeriveSettings:
        return cls(data["floor"], data["measure"], FinalCheck(**data.get("final_check", {})))


@dataclass(frozen=True)
class SearchSettings:
    """What a search was asked to do, as plain data: its checkpoint's record, and search.json's."""
    space: str  # the space YAML, absolute (its definition is embedded beside)
    table: str  # the latency table, absolute
    target_ms: float
    loss: LossConfig
    one_shot: dict  # {"name": registry name, argument: value, …} (search/one_shot/)
    algorithm: dict  # the same for the search algorithm (search/algorithms/)
    trains_alphas: bool  # False: one-shot training only, the arch is chosen by `hwnas select`
    derive: DeriveSettings
    seed: int

    def to_json(self) -> dict:
        return {**asdict(self), "loss": asdict(self.loss), "derive": asdict(self.derive)}

    @classmethod
    def from_json(cls, data: dict) -> SearchSettings:
        """Read `to_json`'s layout, or the flat hyperparameters of a checkpoint written before it."""
        if "mode" in data:
            data = _from_flat(data)
        return cls(str(data["space"]), str(data["table"]), float(data["target_ms"]), LossConfig(**data["loss"]),
                   dict(data["one_shot"]), dict(data["algorithm"]), bool(data["trains_alphas"]),
                   DeriveSettings.from_json(data["derive"]), int(data["seed"]))


def _from_flat(h: dict) -> dict:
    """The hyperparameters SearchModule saved before its options were grouped (mode, gate, estimator,
    warmup_epochs, one_shot_training, …: one flat dict, defaults where a key is missing)."""
    mode = h.get("mode", "binary")
    arch = {"arch_lr": h.get("arch_lr", 1e-3), "arch_every": h.get("arch_every", 1)}
    if mode == "binary" and h.get("estimator", "binary_connect") == "reinforce":
        algorithm = {"name": "reinforce", "reward_weight": h.get("reward_weight", 0.1),
                     "baseline_decay": h.get("baseline_decay", 0.99), **arch}
    else:
        algorithm = {"binary": {"name": "proxyless", "gate": h.get("gate", "full"), **arch},
                     "gumbel": {"name": "gumbel", "tau_start": h.get("tau_start", 5.0), "tau_end": h.get("tau_end", 0.5),
                                **arch},
                     "softmax": {"name": "darts", **arch}, "sum": {"name": "one_shot_only"}}[mode]
    rule = h.get("one_shot_training", "average")
    one_shot = {"name": rule, "epochs": h.get("warmup_epochs", 2), "lr": h.get("weight_lr", 0.05),
                "momentum": h.get("weight_momentum", 0.9), "weight_decay": h.get("weight_decay", 4e-5),
                "grad_clip": None, **({"max_drop_prob": h.get("max_drop_prob", 0.8)} if rule == "average" else {})}
    return {"space": h["space"], "table": h["table"], "target_ms": h["target_ms"],
            "loss": {"form": h.get("loss_form", "abs_ratio"), "lam": h.get("loss_lambda", 0.1),
                     "alpha": h.get("loss_alpha", 0.2), "beta": h.get("loss_beta", 0.3)},
            "one_shot": one_shot, "algorithm": algorithm, "trains_alphas": mode != "sum",
            "derive": {"floor": h.get("derive_floor", DEFAULT_FLOOR), "measure": h.get("measure_derived", True)},
            "seed": h.get("seed", 0)}


@dataclass(frozen=True)
class SearchCheckpoint:
    supernet: SuperNet
    table: TableRef  # the table the search used: absolute path, content hash then, device
    settings: SearchSettings
    path: Path

    def open_table(self, table_path: str | Path | None = None) -> LatencyTable:
        """The search's table, or `table_path` (e.g. another device's); says in one line (logged) when
        it was measured on another device, or is the search's table but has changed since the search."""
        if table_path is None and not Path(self.table.path).exists():
            raise HwnasError(f"{self.path}: the table its search used, {self.table.path}, is not there any more "
                             f"(moved or deleted): pass --table with where it is now")
        table = load_table(table_path or self.table.path, self.supernet.space)
        for note in (describe_mismatch(table.ref.path, table.device), self.table.changed_note(table.ref, "the search")):
            if note:
                log.info(note)
        return table


def load_search_checkpoint(ckpt: str | Path) -> SearchCheckpoint:
    """The supernet and record of a search checkpoint; one line for a file that is not one."""
    ckpt = Path(ckpt)
    checkpoint = read_saved(ckpt, "`hwnas search` wrote (RUN/search/checkpoints/last.ckpt)")
    embedded = checkpoint.get(CHECKPOINT_KEY) if isinstance(checkpoint, dict) else None
    if not isinstance(embedded, dict) or "state_dict" not in checkpoint:
        raise HwnasError(f"{ckpt}: not a checkpoint of this hwnas's `hwnas search` (no embedded space): "
                         f"search again")
    try:
        supernet = SuperNet(parse_space(embedded["space"], f"{ckpt} (embedded space)"))
        table = TableRef.from_json(embedded["table"])
        settings = SearchSettings.from_json(embedded.get("settings") or dict(checkpoint.get("hyper_parameters")))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise HwnasError(f"{ckpt}: its embedded search record is malformed ({type(error).__name__}: {error}): "
                         f"search again") from None
    prefix = "supernet."  # SearchModule.supernet
    state = {key[len(prefix):]: value for key, value in checkpoint["state_dict"].items() if key.startswith(prefix)}
    check_fits(supernet, state, str(ckpt), "its weights do not fit its own embedded space; search again")
    supernet.load_state_dict(state)
    return SearchCheckpoint(supernet, table, settings, ckpt)
