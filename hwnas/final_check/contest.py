"""The final check: the best candidates of the window trained briefly from scratch and halved by accuracy.

    rung 0   K candidates, E epochs each
    rung r   the better half of rung r − 1, 2^r · E epochs each, trained from scratch again
    until a rung of two (or one) has run, or the next rung would end past the budget in minutes or in
    epochs (every candidate's epochs added up); the winner is the best of the last rung

Successive halving (Jamieson & Talwalkar 2016): the training budget goes where the contest is close.
Each candidate is the retrain stage's module (retrain/module.py: SGD, cosine schedule, label smoothing)
fitted on the search's train split and scored on its arch split, never on the test split. Every
candidate trains with the same seeds (its initialisation stream and its batch order), so the candidates
of a rung differ by their arch alone; `trainings` seeds per candidate, scored by the mean accuracy,
because one training's arch-split accuracy moves by about as much as archs of one latency differ. The
time per epoch of a rung is measured and predicts the next.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl

from hwnas.data.modules import ImageDataModule
from hwnas.net.arch import Arch
from hwnas.records.arch_record import ArchRecord, Provenance
from hwnas.records.search_checkpoint import FinalCheck
from hwnas.retrain.module import RetrainModule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    arch: Arch
    score: float  # what put it in the contest (final_check/candidates.py): higher is better
    predicted_ms: float


@dataclass(frozen=True)
class Contest:
    candidates: tuple[Candidate, ...]
    # {"epochs", "results": [{"ops", "accuracy", "accuracies", "cross_entropies", "seconds"}]} per rung, best first:
    # per training its arch-split accuracy and cross-entropy (nats per image); `accuracy`, their mean, decides
    rungs: tuple[dict, ...]
    winner: Arch
    seconds: float

    @property
    def finalists(self) -> list[Arch]:
        """The last rung's archs, best first."""
        return [Arch(self.winner.space, tuple(r["ops"])) for r in self.rungs[-1]["results"]]

    def to_json(self) -> dict:
        return {"candidates": [{"ops": list(c.arch.ops), "score": c.score, "predicted_ms": c.predicted_ms}
                               for c in self.candidates],
                "rungs": list(self.rungs), "winner": list(self.winner.ops), "seconds": round(self.seconds, 1)}


def run_contest(candidates: list[Candidate], data: ImageDataModule, settings: FinalCheck, seed: int = 0,
                accelerator: str = "cpu", callbacks: Sequence[pl.Callback] = ()) -> Contest:
    """Successive halving over `candidates` (module docstring) on `data`'s train and arch splits (set up);
    `callbacks` join every candidate's training (the search's CoreFollower, say)."""
    started = time.perf_counter()
    alive, epochs, rungs = [c.arch for c in candidates], settings.epochs, []
    while True:
        rung_started = time.perf_counter()
        results = []
        for index, arch in enumerate(alive, 1):
            runs = [train_on_the_arch_split(arch, data, epochs, seed + i, accelerator, callbacks)
                    for i in range(settings.trainings)]
            accuracy, seconds = statistics.mean(run.accuracy for run in runs), sum(run.seconds for run in runs)
            results.append({"ops": list(arch.ops), "accuracy": accuracy, "accuracies": [run.accuracy for run in runs],
                            "cross_entropies": [run.cross_entropy for run in runs], "seconds": round(seconds, 1)})
            log.info(f"final check, rung {len(rungs) + 1} ({epochs} epoch(s) each): {index}/{len(alive)} "
                     f"{' '.join(arch.ops)}: arch-split accuracy {accuracy:.4f} ({seconds:.0f} s)")
        results.sort(key=lambda r: -r["accuracy"])  # stable: among equals, the better-scored candidate first
        rungs.append({"epochs": epochs, "results": results})
        spent_min = (time.perf_counter() - started) / 60
        next_min = (time.perf_counter() - rung_started) / 60  # half the archs, twice the epochs: about the same
        spent_epochs = sum(rung["epochs"] * len(rung["results"]) for rung in rungs) * settings.trainings
        next_alive = max(1, len(results) // 2)
        next_epochs = next_alive * 2 * epochs * settings.trainings
        if len(results) <= 2 or (settings.minutes is not None and spent_min + next_min > settings.minutes) or \
                (settings.epoch_budget is not None and spent_epochs + next_epochs > settings.epoch_budget):
            break
        alive = [Arch(alive[0].space, tuple(r["ops"])) for r in results[:next_alive]]
        epochs *= 2
    winner = Arch(candidates[0].arch.space, tuple(rungs[-1]["results"][0]["ops"]))
    contest = Contest(tuple(candidates), tuple(rungs), winner, time.perf_counter() - started)
    log.info(f"final check: {', '.join(winner.ops)} won among {len(candidates)} candidates in {contest.seconds:.0f} s")
    return contest


@dataclass(frozen=True)
class Training:
    """One candidate's training, scored on the arch split."""
    accuracy: float  # share of the arch split's images, in [0, 1]
    cross_entropy: float  # nats per image
    seconds: float


def train_on_the_arch_split(arch: Arch, data: ImageDataModule, epochs: int, seed: int, accelerator: str,
                            callbacks: Sequence[pl.Callback] = ()) -> Training:
    """`arch` trained from scratch for `epochs` on the train split, scored on the arch split."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hwnas-final-check-") as folder:
        ArchRecord(arch, Provenance("final check")).save(Path(folder) / "candidate.json")
        pl.seed_everything(seed, verbose=False)
        model = RetrainModule(str(Path(folder) / "candidate.json"))
        trainer = pl.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, default_root_dir=folder,
                             logger=False, enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, num_sanity_val_steps=0, callbacks=list(callbacks))
        trainer.fit(model, train_dataloaders=data.weights_loader())
        (metrics,) = trainer.validate(model, data.val_dataloader(), verbose=False)
    return Training(float(metrics["val/acc"]), float(metrics["val/ce"]), time.perf_counter() - started)
