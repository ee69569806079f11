"""`hwnas select`: the best subnet of a trained supernet under a latency budget.

    hwnas select --ckpt RUN/search/checkpoints/last.ckpt --target_ms 0.15 [--table T.json]
                 [--method evolution|random|both] [--population 20 --cycles 100 --sample 5 --seed 0]
                 [--calibration_batches 8] [--final_check K --final_check_epochs E --final_check_trainings N
                 --final_check_minutes M --final_check_epoch_budget B] [--out RUN/select]

    OUT/arch.json     the best feasible arch found (the best of both methods with `both`)
    OUT/select.json   SelectSummary: target, feasible range, the chosen arch, per method its settings,
                      best and full history (ops, score, accuracy, predicted ms), the Pareto front
    OUT/pareto.png    score vs predicted latency of every scored arch (select/pareto_plot.py)

The three are written together (files/atomic.py's atomic_folder): an interrupted select leaves the
earlier ones. What it reads: the supernet and its space from the checkpoint
(records/search_checkpoint.py); the latency table the search used, unless --table names another
(e.g. another device's). Scoring: scoring/subnet_eval.py (BN recalibration on train batches, then
minus the cross-entropy on the search's arch split, the accuracy beside it); search:
select/evolution.py (aging evolution, random search with the same number of candidates). With
--final_check K > 1 the K best scored archs are trained briefly from scratch and halved by arch-split
accuracy (final_check/contest.py), following the cores other work leaves free as a training does; the
winner is chosen and arch.json records the contest.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from hwnas.errors import HwnasError
from hwnas.files.atomic import atomic_folder, check_writable, write_json
from hwnas.files.strict import read_record
from hwnas.latency.objective import check_target_ms
from hwnas.net.memory import MemoryCaps
from hwnas.records.arch_record import ArchRecord, Provenance
from hwnas.records.run_folder import RunFolder
from hwnas.final_check.candidates import pick_candidates
from hwnas.final_check.contest import run_contest
from hwnas.records.search_checkpoint import FinalCheck, load_search_checkpoint
from hwnas.select.evolution import Evaluated, LatencyBudget, aging_evolution, best, pareto_front, random_search
from hwnas.select.pareto_plot import plot_pareto
from hwnas.scoring.subnet_eval import SCORING, SubnetScorer, scorer_of_search
from hwnas.training.core_follower import CoreFollower

log = logging.getLogger(__name__)
Method = Literal["evolution", "random", "both"]
METHODS: tuple[Method, ...] = ("evolution", "random", "both")
FORMAT, VERSION = "hwnas.select", 3


@dataclass(frozen=True)
class Scored:
    """One scored arch as a summary lists it."""
    ops: tuple[str, ...]
    score: float  # what select ranks by (subnet_eval.SCORING)
    accuracy: float  # arch-split top-1 accuracy, BN recalibrated
    predicted_ms: float

    @classmethod
    def of(cls, evaluated: Evaluated, scorer: SubnetScorer) -> Scored:
        return cls(evaluated.arch.ops, round(evaluated.score, 6), round(scorer.accuracy[evaluated.arch], 6),
                   round(evaluated.latency_ms, 6))

    @classmethod
    def from_json(cls, data: dict) -> Scored:
        """Versions 1 and 2 ranked by accuracy: their score is the accuracy."""
        return cls(tuple(data["ops"]), float(data.get("score", data["accuracy"])), float(data["accuracy"]),
                   float(data["predicted_ms"]))


@dataclass(frozen=True)
class SelectSummary:
    """select.json. Versions 1 (7c7bfa7: no format key) and 2 (ranked by accuracy, no score) still load."""
    checkpoint: str
    table: str
    target_ms: float
    latency_range_ms: tuple[float, float]
    memory_caps: dict
    chosen_method: str
    chosen: Scored
    searched_arch: Scored  # the search's own argmax, scored the same way, for comparison
    searched_arch_feasible: bool
    methods: dict  # method → {settings…, "evaluations", "unique_archs", "best", "history"}
    pareto_front: tuple[Scored, ...]

    def to_json(self) -> dict:
        def scored(s: Scored) -> dict:
            return {**asdict(s), "ops": list(s.ops)}
        return {"format": FORMAT, "version": VERSION, "checkpoint": self.checkpoint, "table": self.table,
                "target_ms": self.target_ms, "latency_range_ms": list(self.latency_range_ms),
                "memory_caps": self.memory_caps,
                "scoring": SCORING,
                "chosen": {"method": self.chosen_method, **scored(self.chosen)},
                "searched_arch": {**scored(self.searched_arch), "feasible": self.searched_arch_feasible},
                "methods": self.methods, "pareto_front": [scored(s) for s in self.pareto_front]}

    @classmethod
    def load(cls, path: str | Path) -> SelectSummary:
        with read_record(path, FORMAT, (1, VERSION), "select summary",
                           "no select.json (`hwnas select` writes RUN/select/select.json)", "select again") as data:
            return cls(str(data["checkpoint"]), str(data["table"]), float(data["target_ms"]),
                       tuple(map(float, data["latency_range_ms"])), dict(data["memory_caps"]),
                       str(data["chosen"]["method"]), Scored.from_json(data["chosen"]),
                       Scored.from_json(data["searched_arch"]), bool(data["searched_arch"]["feasible"]),
                       dict(data["methods"]), tuple(Scored.from_json(s) for s in data["pareto_front"]))


def run_select(ckpt: str, target_ms: float, table: str | None = None, out: str | None = None,
               data_config: str | None = None, method: Method = "evolution", population: int = 20, cycles: int = 100,
               sample: int = 5, seed: int = 0, calibration_batches: int = 4, caps: MemoryCaps = MemoryCaps(),
               trusted: bool = False, final_check: FinalCheck = FinalCheck()) -> SelectSummary:
    """Search the trained supernet (module docstring); writes OUT (default: the run folder's `select`)."""
    check_target_ms(target_ms)
    if method not in METHODS:
        raise HwnasError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    out = Path(out) if out else RunFolder.of_checkpoint(ckpt).beside("select")
    check_writable(out, folder=True)
    checkpoint = load_search_checkpoint(ckpt)
    space = checkpoint.supernet.space
    latency_table = checkpoint.open_table(table)
    budget = LatencyBudget(latency_table, space, target_ms, caps)
    scorer = scorer_of_search(checkpoint, calibration_batches, data_config, trusted)

    results: dict[str, list[Evaluated]] = {}
    settings: dict[str, dict] = {}
    if method in ("evolution", "both"):
        results["evolution"] = aging_evolution(budget, scorer, population, cycles, sample, seed).history
        settings["evolution"] = {"population": population, "cycles": cycles, "sample": sample, "seed": seed}
    if method in ("random", "both"):
        results["random"] = random_search(budget, scorer, population + cycles, seed)
        settings["random"] = {"seed": seed}
    winners = {name: best(history) for name, history in results.items()}
    chosen = best(list(winners.values()))
    chosen_method = next(name for name, winner in winners.items() if winner == chosen)
    contest = None
    if final_check.candidates > 1:  # the best scored archs trained briefly, halved by accuracy
        scored = list(dict.fromkeys(e.arch for history in results.values() for e in history))
        contest = run_contest(pick_candidates(scored, latency_table, scorer, final_check), scorer.datamodule,
                              final_check, seed, callbacks=[CoreFollower()])  # its trainings share the cores
        chosen = Evaluated(contest.winner, scorer(contest.winner), budget.latency_ms(contest.winner))
        chosen_method += " + final check"
    argmax = checkpoint.supernet.argmax_arch()  # the search's own answer, for comparison
    listed = partial(Scored.of, scorer=scorer)
    summary = SelectSummary(
        str(Path(ckpt).resolve()), latency_table.ref.path, target_ms, budget.range_ms, caps.to_json(), chosen_method,
        listed(chosen), listed(Evaluated(argmax, scorer(argmax), budget.latency_ms(argmax))),
        budget.feasible(argmax),
        {name: {**settings[name], "evaluations": len(history), "unique_archs": len({e.arch for e in history}),
                "best": asdict(listed(best(history))), "history": [asdict(listed(e)) for e in history]}
         for name, history in results.items()},
        tuple(listed(e) for e in pareto_front([e for history in results.values() for e in history])))
    record = ArchRecord(chosen.arch, Provenance(
        stage="select", checkpoint=str(Path(ckpt).resolve()), table=latency_table.ref, target_ms=target_ms, floor=0.0,
        predicted_ms=chosen.latency_ms,
        not_measured_because="select chooses on the table's prediction; `hwnas measure` the export",
        selection={"method": chosen_method, "score": chosen.score, "arch_split_accuracy": scorer.accuracy[chosen.arch]},
        caps=caps.to_json() if caps else None,
        final_check=contest.to_json() if contest else None))
    with atomic_folder(out, replaces_only="select.json") as staging:
        record.save(staging / "arch.json")
        write_json(staging / "select.json", summary.to_json())
        plot_pareto(staging / "pareto.png", results, chosen, target_ms, budget.range_ms)
    for name, history in results.items():
        log.info(f"{name}: best score {winners[name].score:.4f} (accuracy {scorer.accuracy[winners[name].arch]:.4f}) "
                 f"at {winners[name].latency_ms:.4f} ms "
                 f"({len(history)} scored, {len({e.arch for e in history})} distinct)")
    log.info(f"chosen ({chosen_method}): {', '.join(chosen.arch.ops)}: score {chosen.score:.4f}, accuracy "
             f"{scorer.accuracy[chosen.arch]:.4f} (arch split), "
             f"{chosen.latency_ms:.4f} ms predicted, target {target_ms} ms")
    log.info(f"wrote {out}/arch.json, {out}/select.json and {out}/pareto.png")
    return summary
