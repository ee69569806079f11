"""The checks before a search or a retrain and the records it leaves in its run folder, run by the library.

Each module registers its callback itself (`configure_callbacks`), so a plain
`Trainer(default_root_dir=RUN_DIR).fit(SearchModule(...), data)` checks and writes what
`hwnas search --run_dir RUN_DIR` does; the CLI only wires arguments (stage_cli.py), and runs the
same checks before it touches the run folder. The checks run at `setup`, before any training
(`check_ready` of each module, with the shared ones below). The records are written when the
stage has finished (`on_fit_end`, `on_test_end`): an interrupted fit calls neither, so it leaves none.

    search   RUN_DIR/arch.json   the most probable arch inside [floor·T, T] (derive/on_device.py)
             RUN_DIR/search.json mode, target, latency range, the derive's tries, the argmax beside
                                 it, the probabilities and how decided they are (mode sum: no arch)
    retrain  RUN_DIR/arch.json   the input record, provenance kept
             RUN_DIR/subnet.pt   the trained weights (a state dict: loads with weights_only=True)
             RUN_DIR/retrain.json test accuracy, written after `trainer.test`
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch

from hwnas.files.atomic import atomic_output, write_json
from hwnas.derive.on_device import derive_for_target
from hwnas.derive.window import decision
from hwnas.errors import HwnasError
from hwnas.records.arch_record import ArchRecord
from hwnas.records.run_folder import RunFolder


def check_classes(space, datamodule) -> None:
    """A dataset whose classes the network cannot output ended in an IndexError inside the loss, or
    trained a 10-way head on one class."""
    if datamodule is None:  # plain dataloaders: nothing to ask
        return
    if datamodule.num_classes != space.num_classes:
        raise HwnasError(f"the dataset has {datamodule.num_classes} classes, the space {space.name} has num_classes "
                         f"{space.num_classes}: make them agree (a space file's num_classes, or the dataset's folders)")


def check_epochs(max_epochs: int | None) -> None:
    """None or -1: bounded by max_steps or max_time instead, which is valid; Lightning accepts 0."""
    if max_epochs == 0:
        raise HwnasError("--trainer.max_epochs must be at least 1 (or -1: no limit), got 0")


class _ChecksAtSetup(pl.Callback):
    def setup(self, trainer: pl.Trainer, module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            module.check_ready(trainer.datamodule, trainer.max_epochs)


def _last_checkpoint(trainer: pl.Trainer) -> str | None:
    checkpoint = trainer.checkpoint_callback
    path = getattr(checkpoint, "last_model_path", None) or getattr(checkpoint, "best_model_path", None)
    return str(Path(path).resolve()) if path else None


class SearchRecord(_ChecksAtSetup):
    def on_fit_end(self, trainer: pl.Trainer, search: pl.LightningModule) -> None:
        if not trainer.is_global_zero:  # DDP: every rank holds the same alphas; one writes
            return
        run = RunFolder(Path(trainer.default_root_dir))
        h = search.hparams
        fastest, slowest = search.table.latency_range_ms()
        summary = {"space": str(Path(h.space).resolve()), "table": search.table_path, "mode": h.mode, "gate": h.gate,
                   "estimator": h.estimator, "target_ms": h.target_ms, "latency_range_ms": [fastest, slowest]}
        if search.strategy.one_shot_only:  # mode sum: no arch steps, the alphas are their initial noise
            write_json(run.search_summary, summary)
            print(f"mode sum trained the supernet only; choose the arch with "
                  f"`hwnas select --ckpt {_last_checkpoint(trainer)} --target-ms {h.target_ms}`")
            return
        if not any(state.get("step", 0) for state in trainer.optimizers[1].state.values()):
            raise HwnasError(f"the search ended before its first arch step (inside the warm-up: see --trainer.max_steps, "
                             f"limit_train_batches and --model.warmup_epochs): its alphas are their initial noise, so "
                             f"no arch.json was written; search longer, or choose from the trained supernet with "
                             f"`hwnas select --ckpt {_last_checkpoint(trainer)} --target-ms {h.target_ms}`")
        probabilities = [p.detach() for p in search.supernet.probabilities()]
        argmax = search.supernet.argmax_arch()
        arch, provenance = derive_for_target(probabilities, search.table, search.table_ref, h.target_ms,
                                             h.derive_floor, h.measure_derived, checkpoint=_last_checkpoint(trainer))
        record = ArchRecord(arch, replace(provenance, argmax={"ops": list(argmax.ops),
                                                              "predicted_ms": search.table.predict_ms(argmax)}))
        record.save(run.arch)
        written = record.provenance.to_json()
        summary.update({
            **{k: written[k] for k in ("predicted_ms", "measured_ms", "measured_at_table_speed_ms", "target_met",
                                       "argmax", "tries")},
            "ops": list(arch.ops), "decision": decision(probabilities),
            "probabilities": [{name: round(float(p), 4) for name, p in zip(mixed.names, layer_probabilities)}
                              for mixed, layer_probabilities in zip(search.supernet.mixed_ops, probabilities)],
        })
        write_json(run.search_summary, summary)
        print(json.dumps({k: summary[k] for k in ("target_ms", "latency_range_ms", "predicted_ms", "measured_ms",
                                                  "measured_at_table_speed_ms", "target_met", "ops")}, indent=2))
        print(f"wrote {run.arch}")


class RetrainRecord(_ChecksAtSetup):
    def on_fit_end(self, trainer: pl.Trainer, retrain: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        run = RunFolder(Path(trainer.default_root_dir))
        retrain.arch_record.save(run.arch)  # the record travels on, unchanged
        with atomic_output(run.weights) as temporary:
            torch.save(retrain.net.state_dict(), temporary)  # tensors only: loads with weights_only=True

    def on_test_end(self, trainer: pl.Trainer, retrain: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        run = RunFolder(Path(trainer.default_root_dir))
        accuracy = float(trainer.callback_metrics["test/acc"])
        write_json(run.retrain_summary, {
            "arch": run.arch.name, "weights": run.weights.name, "test_accuracy": accuracy,
            "dataset": type(trainer.datamodule).__name__, "retrained_from": str(Path(retrain.hparams.arch).resolve()),
        })
        print(f"test accuracy {accuracy:.4f}; wrote {run.weights} and {run.retrain_summary}")
