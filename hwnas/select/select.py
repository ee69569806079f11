"""`hwnas select`: the best subnet of a trained supernet under a latency budget.

    hwnas select --ckpt RUN/search/checkpoints/last.ckpt --target-ms 0.15 [--table T.json]
                 [--method evolution|random|both] [--population 20 --cycles 100 --sample 5 --seed 0]
                 [--calibration-batches 8] [--out RUN/select]

    OUT/arch.json     the best feasible arch found (the best of both methods with `both`)
    OUT/select.json   target, feasible range, the chosen arch, per method its settings, best and
                      full history (ops, accuracy, predicted ms), the Pareto front
    OUT/pareto.png    accuracy vs predicted latency of every scored arch (plots.plot_pareto)

What it reads, and why from there:
- the supernet weights and the space from the checkpoint (search/checkpoint.py);
- the data module from the search run's resolved config (RUN/search/logs/config.yaml), so the
  arch split the candidates are scored on is exactly the one the search held out from the
  weights (same dataset, seed and arch_fraction). The test split is never read.
- the latency table the search used, unless --table names another one (e.g. another device).
Scoring: select/subnet_eval.py (BN recalibration on train batches, accuracy on the arch split);
search: select/evolution.py (aging evolution, random search with the same number of candidates).
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

from torch.utils.data import DataLoader

from hwnas.files.atomic import write_json
from hwnas.data import ImageDataModule
from hwnas.errors import HwnasError
from hwnas.net.memory import MemoryCaps
from hwnas.net.space import SearchSpace
from hwnas.records.arch_record import ArchRecord, Provenance
from hwnas.data.of_run import datamodule_of_run
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.select.evolution import Evaluated, LatencyBudget, aging_evolution, best, pareto_front, random_search
from hwnas.select.pareto_plot import plot_pareto
from hwnas.select.subnet_eval import SubnetScorer

METHODS = ("evolution", "random", "both")


def arch_split_of_run(config_path: Path, space: SearchSpace, trusted: bool = False) -> ImageDataModule:
    """The search's data module, set up; it must have an arch split. `trusted`: see run_data.py."""
    datamodule = datamodule_of_run(config_path, space, "pass the search's logs/config.yaml with --data-config",
                                   trusted)
    if not datamodule.arch_fraction > 0:
        raise HwnasError(f"{config_path}: the search had no arch split (data.arch_fraction = 0), so every "
                         f"image trained the weights; nothing is left to score subnets on")
    datamodule.setup("fit")
    return datamodule


def run_select(ckpt: str, target_ms: float, table: str | None, out: str, data_config: str | None = None,
               method: str = "evolution", population: int = 20, cycles: int = 100, sample: int = 5, seed: int = 0,
               calibration_batches: int = 4, caps: MemoryCaps = MemoryCaps(), trusted: bool = False) -> dict:
    """Search the trained supernet (see the module docstring); returns the select.json summary."""
    if method not in METHODS:
        raise HwnasError(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if calibration_batches < 1:
        raise HwnasError(f"need at least 1 calibration batch, got {calibration_batches}")
    ckpt_path = Path(ckpt)
    out_dir = Path(out)
    checkpoint = load_search_checkpoint(ckpt_path)
    supernet, space = checkpoint.supernet, checkpoint.supernet.space
    latency_table, table_ref = checkpoint.open_table(table)
    budget = LatencyBudget(latency_table, space, target_ms, caps)

    config = Path(data_config) if data_config else RunFolder.of_checkpoint(ckpt_path).config
    datamodule = arch_split_of_run(config, space, trusted)
    # The train split is already in seeded random order: its first batches are a random sample.
    train = DataLoader(datamodule.train_set, datamodule.batch_size)
    calibration = [x for x, _ in islice(train, calibration_batches)]
    validation = list(datamodule.val_dataloader())  # the arch split
    scorer = SubnetScorer(supernet, calibration, validation)

    results: dict[str, list[Evaluated]] = {}
    settings: dict[str, dict] = {}
    if method in ("evolution", "both"):
        results["evolution"] = aging_evolution(budget, scorer, population, cycles, sample, seed).history
        settings["evolution"] = {"population": population, "cycles": cycles, "sample": sample, "seed": seed}
    if method in ("random", "both"):
        results["random"] = random_search(budget, scorer, population + cycles, seed)
        settings["random"] = {"seed": seed}
    chosen_method, chosen = max(((name, best(history)) for name, history in results.items()),
                                key=lambda item: (item[1].score, -item[1].latency_ms))

    derived = supernet.argmax_arch()  # the search's own answer (argmax alphas), for comparison
    fastest_ms, slowest_ms = budget.range_ms
    summary = {
        "checkpoint": str(ckpt_path), "table": table_ref.path, "target_ms": target_ms,
        "latency_range_ms": [fastest_ms, slowest_ms], "memory_caps": caps.to_json(),
        "scoring": {"metric": "top-1 accuracy on the arch split, BN recalibrated per arch",
                    "arch_split_images": sum(len(y) for _, y in validation),
                    "calibration_images": sum(len(x) for x in calibration)},
        "chosen": {"method": chosen_method, **_record(chosen)},
        "searched_arch": {**_record(Evaluated(derived, scorer(derived), budget.latency_ms(derived))),
                          "feasible": budget.feasible(derived)},
        "methods": {name: {**settings[name], "evaluations": len(history),
                           "unique_archs": len({e.arch for e in history}),
                           "best": _record(best(history)), "history": [_record(e) for e in history]}
                    for name, history in results.items()},
        "pareto_front": [_record(e) for e in pareto_front([e for h in results.values() for e in h])],
    }
    ArchRecord(chosen.arch, Provenance(
        stage="select", checkpoint=str(ckpt_path.resolve()), table=table_ref, target_ms=target_ms, floor=0.0,
        predicted_ms=chosen.latency_ms,
        not_measured_because="select chooses on the table's prediction; `hwnas measure` the export",
        selection={"method": chosen_method, "arch_split_accuracy": chosen.score},
        caps=caps.to_json() if caps else None)).save(out_dir / "arch.json")
    write_json(out_dir / "select.json", summary)
    plot_pareto(out_dir / "pareto.png", results, chosen, target_ms, budget.range_ms)
    return summary


def _record(evaluated: Evaluated) -> dict:
    return {"ops": list(evaluated.arch.ops), "accuracy": round(evaluated.score, 6),
            "predicted_ms": round(evaluated.latency_ms, 6)}
