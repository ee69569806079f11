"""What a search leaves in its run folder when the fit ends, written by the library (a callback the
module registers itself), so a plain `Trainer(default_root_dir=RUN).fit(SearchModule(...), data)`
writes what `hwnas search --run_dir RUN` does:

    RUN/arch.json    the most probable arch inside [floor·T, T] (derive/on_device.py), or with a final check
                     the winner of its window's contest (final_check/after_search.py), with its provenance
    RUN/search.json  SearchSummary: the settings, the latency range, the arch and its figures, the argmax
                     beside it, the final probabilities and how decided they are (no arch: one-shot only)

An interrupted fit does not reach `on_fit_end`, so it leaves neither.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pytorch_lightning as pl

from hwnas.derive.on_device import derive_for_target
from hwnas.derive.window import decision
from hwnas.errors import HwnasError
from hwnas.files.atomic import write_json
from hwnas.files.strict import read_record
from hwnas.final_check.after_search import check_derived
from hwnas.records.arch_record import ArchRecord
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import SearchSettings
from hwnas.training.checks import ChecksAtSetup
from hwnas.training.core_follower import CoreFollower

log = logging.getLogger(__name__)
FORMAT, VERSION = "hwnas.search", 2


@dataclass(frozen=True)
class SearchSummary:
    """search.json. Version 1 (7c7bfa7: no format key, the options flat) still loads."""
    settings: SearchSettings
    latency_range_ms: tuple[float, float]  # fastest and slowest arch of the space, table prediction
    ops: tuple[str, ...] | None = None  # the arch written to arch.json; None for a one-shot-only search
    predicted_ms: float | None = None
    measured_at_table_speed_ms: float | None = None
    target_met: bool | None = None
    argmax: dict | None = None  # the most probable op of every layer: {"ops", "predicted_ms"}
    decision: dict | None = None  # derive/window.py's decision()
    probabilities: list[dict[str, float]] | None = None  # per layer, op → p

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, **asdict(self), "settings": self.settings.to_json(),
                "latency_range_ms": list(self.latency_range_ms), "ops": list(self.ops) if self.ops else None}

    @classmethod
    def load(cls, path: str | Path) -> SearchSummary:
        with read_record(path, FORMAT, (1, VERSION), "search summary",
                           "no search.json (a search run writes RUN/search/search.json)", "search again") as data:
            settings = data["settings"] if "settings" in data else data  # version 1: the options flat
            return cls(SearchSettings.from_json(settings), tuple(map(float, data["latency_range_ms"])),
                       tuple(data["ops"]) if data.get("ops") else None, data.get("predicted_ms"),
                       data.get("measured_at_table_speed_ms"), data.get("target_met"), data.get("argmax"),
                       data.get("decision"), data.get("probabilities"))


def _last_checkpoint(trainer: pl.Trainer) -> str | None:
    checkpoint = trainer.checkpoint_callback
    path = getattr(checkpoint, "last_model_path", None) or getattr(checkpoint, "best_model_path", None)
    return str(Path(path).resolve()) if path else None


class SearchRecord(ChecksAtSetup):
    def on_fit_end(self, trainer: pl.Trainer, search: pl.LightningModule) -> None:
        if not trainer.is_global_zero:  # DDP: every rank holds the same alphas; one writes
            return
        run = RunFolder(Path(trainer.default_root_dir))
        settings, table = search.settings, search.table
        summary = SearchSummary(settings, table.latency_range_ms())
        select = f"`hwnas select --ckpt {_last_checkpoint(trainer)} --target_ms {settings.target_ms}`"
        if not settings.trains_alphas:  # no arch steps: the alphas are their initial noise
            write_json(run.search_summary, summary.to_json())
            log.info(f"the search trained the supernet only; choose the arch with {select}")
            return
        if not any(state.get("step", 0) for state in trainer.optimizers[1].state.values()):
            raise HwnasError(f"the search ended before its first arch step (inside the one-shot epochs: see "
                             f"--trainer.max_steps, limit_train_batches and --model.one_shot.epochs): its alphas are "
                             f"their initial noise, so no arch.json was written; search longer, or choose from the "
                             f"trained supernet with {select}")
        probabilities = [p.detach() for p in search.supernet.probabilities()]
        argmax = search.supernet.argmax_arch()
        argmax = {"ops": list(argmax.ops), "predicted_ms": table.predict_ms(argmax)}
        arch, provenance = derive_for_target(probabilities, table, settings.target_ms, settings.derive.floor,
                                             settings.derive.measure, checkpoint=_last_checkpoint(trainer))
        if settings.derive.final_check.candidates > 1 and trainer.datamodule is None:
            log.info("note: the final check needs the search's data module (plain dataloaders were given): skipped")
        elif settings.derive.final_check.candidates > 1:  # the derived arch against the best of its window, trained
            followers = [c for c in trainer.callbacks if isinstance(c, CoreFollower)]  # its trainings follow too
            arch, provenance = check_derived(arch, provenance, search.supernet, table, trainer.datamodule,
                                             settings.derive, settings.seed, trainer.strategy.root_device.type,
                                             callbacks=followers)
        record = ArchRecord(arch, replace(provenance, argmax=argmax))
        record.save(run.arch)
        measured = record.provenance.measurement
        summary = replace(summary, ops=arch.ops, predicted_ms=provenance.predicted_ms,
                          measured_at_table_speed_ms=measured.at_table_speed_ms if measured else None,
                          target_met=record.provenance.target_met, argmax=argmax, decision=decision(probabilities),
                          probabilities=[{name: round(float(p), 4) for name, p in zip(mixed.names, layer)}
                                         for mixed, layer in zip(search.supernet.mixed_ops, probabilities)])
        write_json(run.search_summary, summary.to_json())
        figures = (f"measured {measured.at_table_speed_ms:.4f} ms at the table's speed ({measured.median_ms:.4f} ms raw)"
                   if measured else f"not measured: {provenance.not_measured_because}")
        log.info(f"arch.json: {', '.join(arch.ops)}, predicted {provenance.predicted_ms:.4f} ms, {figures}; target "
                 f"{settings.target_ms} ms (range {summary.latency_range_ms[0]:.4f}-{summary.latency_range_ms[1]:.4f}), "
                 f"target met: {record.provenance.target_met}")
        log.info(f"wrote {run.arch}")
