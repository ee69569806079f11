"""Export a retrained subnet: single-file ONNX (+ .ort), verified in ONNX Runtime, and its model card.

The model card (export/card.py) states what a user needs to trust the model on the target: test accuracy,
the latency target of the search, the latency the table predicted (as measured, and
rescaled to the machine's speed during the measurement), the latency ONNX Runtime measured on
this machine with the same interleaved protocol as the table, and whether the target was met:
the measurement, rescaled to the table's speed state by the table's subnets timed beside it
(measuring/measure.py), inside [floor·T, T], the derive's window. The card shows the raw and the
rescaled figure.

The card also states the net's memory as deployed (weights in MB, peak activations in KB at batch
1, net/memory.py) and the caps the arch was chosen under, if any.

With `--int8 N` it also writes model.int8.onnx (export/quantize.py) and states that model's test
accuracy and latency beside the float model's. The target applies to the model at the table's
precision: with an int8 table (`hwnas profile --precision int8`) the prediction, the measurement
and `target_met` are the int8 model's; a float table judges model.onnx. A mismatch (an int8 table
without --int8) is said in one line, and the target is then not judged.

Everything but the weights and the test accuracy comes from the run's arch.json record (its
provenance: table, target, floor); `--table` names another table. A measurement is compared
with the table's prediction only when the table's device is this machine; otherwise the card
says which device the prediction belongs to and gives no error between the two.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from hwnas.data.of_run import datamodule_of_run
from hwnas.errors import HwnasError
from hwnas.export.card import CardLatency, Int8Result, ModelCard
from hwnas.export.quantize import onnx_test_accuracy, quantize_on_train_batches
from hwnas.files.atomic import atomic_folder, check_replaceable, check_writable
from hwnas.files.saved_state import check_fits, read_saved
from hwnas.latency.device import INT8
from hwnas.latency.table import load_table
from hwnas.measuring.device_identity import describe_mismatch, speed_note
from hwnas.measuring.measure import example_input, measure_at_table_speed
from hwnas.measuring.onnx_export import INPUT_NAME, OPSET, convert_to_ort, export_onnx
from hwnas.measuring.timing import provider_for
from hwnas.net.arch import build_subnet
from hwnas.net.memory import arch_memory, arch_weight_count
from hwnas.records.arch_record import ArchRecord
from hwnas.records.run_folder import RunFolder
from hwnas.retrain.record import RetrainSummary

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4  # max |ONNX Runtime − PyTorch| over the logits
PARITY_BATCH = 8  # > 1, so the dynamic batch axis is exercised


class ExportError(HwnasError):
    pass


def check_parity(model: torch.nn.Module, onnx_path: Path, example: torch.Tensor) -> float:
    """Run the ONNX file in ONNX Runtime and PyTorch on `example`; return the max abs difference."""
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(str(onnx_path), full_check=True)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (runtime_out,) = session.run(None, {INPUT_NAME: example.numpy()})
    with torch.no_grad():
        torch_out = model.eval()(example).numpy()
    difference = float(np.abs(runtime_out - torch_out).max())
    if not difference <= PARITY_TOLERANCE:
        raise ExportError(f"{onnx_path}: ONNX Runtime differs from PyTorch by {difference:.2e} "
                          f"(> {PARITY_TOLERANCE:.0e}); the export is wrong, please report it")
    return difference


def _which_to_deploy(onnx_ms: float, ort_ms: float, ort_for_this_cpu: bool) -> str:
    """The card's advice, from the two files measured side by side."""
    ratio = ort_ms / onnx_ms
    if ratio <= 1.10:
        where = "for this kind of CPU only" if ort_for_this_cpu else "portable to ONNX Runtime Mobile"
        return f"either: model.ort runs at {ratio:.2f}x model.onnx here and is {where}"
    return (f"model.onnx: model.ort runs at {ratio:.1f}x its time here (ORT-format models keep only the "
            f"optimisations saved in them; profile and export on the target device for a faster .ort)")


def _precision_note(table_path: str, table_precision: str, writes_int8: bool) -> str | None:
    """One line when the deployment measured is not at the precision the table prices."""
    if table_precision == INT8 and not writes_int8:
        return (f"note: {table_path} prices int8 models and this export writes float32 only: the target is not "
                f"judged; pass --int8 N (e.g. 8) to write and judge the int8 model")
    if table_precision != INT8 and writes_int8:
        return (f"note: {table_path} prices float32 models: the target is judged on model.onnx, and model.int8.onnx "
                f"is measured beside it (profile the space with --precision int8 to search for the int8 model)")
    return None


def export_run(retrain_dir: str | Path, out: str | Path | None = None, table_path: str | Path | None = None,
               device: str = "cpu", threads: int = 1, int8_batches: int | None = None,
               trusted: bool = False) -> ModelCard:
    """`hwnas export`: the subnet of a retrain run folder into `out` (default: RUN/../export); returns the
    model card written there. With `int8_batches`, also an int8 model calibrated on that many train
    batches (export/quantize.py). Every input is read and checked before the first export."""
    run = RunFolder(Path(retrain_dir))
    out = Path(out) if out else run.beside("export")
    if int8_batches is not None and int8_batches < 1:
        raise ExportError(f"--int8 is the number of train batches to calibrate on, at least 1: got {int8_batches}")
    provider_for(device, threads)  # a device or thread count that cannot run here, before any export
    check_writable(out, folder=True)
    check_replaceable(out, "model_card.json")
    if not run.retrain_summary.is_file():
        raise ExportError(f"{run.path}: no retrain.json: point --run at a folder written by `hwnas retrain`")
    result = RetrainSummary.load(run.retrain_summary)
    record = ArchRecord.load(run.arch)
    arch, provenance = record.arch, record.provenance
    if table_path is None and provenance.table is None:
        raise ExportError(f"{run.arch} names no latency table: pass --table latency_tables/<name>.json")
    if table_path is None and not Path(provenance.table.path).exists():
        raise ExportError(f"{run.arch}: its table {provenance.table.path} is not there any more (moved or deleted): "
                          f"pass --table with where it is now")
    table_path = table_path or provenance.table.path
    table = load_table(table_path, arch.space)
    mismatch = describe_mismatch(str(table_path), table.device)
    changed = provenance.table.changed_note(table.ref, f"the {provenance.stage} that chose the arch") \
        if provenance.table else None
    precision_note = _precision_note(str(table_path), table.precision, int8_batches is not None)
    model = build_subnet(arch)
    weights = read_saved(run.weights, "`hwnas retrain` wrote beside this retrain.json")
    check_fits(model, weights, str(run.weights),
               f"it is not the retrained subnet of {run.arch}; retrain again into this folder")
    model.load_state_dict(weights)
    model.eval()
    data = _int8_data(run, arch.space, int8_batches, trusted) if int8_batches else None
    if data is not None and int8_batches > len(data.train_dataloader()):
        log.info(f"note: --int8 {int8_batches} is more than the run's {len(data.train_dataloader())} train batches: "
                 f"calibrating on all of them")
        int8_batches = len(data.train_dataloader())
    for note in (mismatch, changed, precision_note):
        if note:
            log.info(note)

    with atomic_folder(out, replaces_only="model_card.json") as staging:  # the old export or the new one
        example = example_input(arch.space, PARITY_BATCH, seed=0)
        onnx_path = export_onnx(model, example[:1], staging / "model.onnx", dynamic_batch=True)
        max_abs_diff = check_parity(model, onnx_path, example)
        ort_for_this_cpu = device == "cpu"  # a GPU or phone cannot run the CPU layout ops (measuring/onnx_export.py)
        ort_path = convert_to_ort(onnx_path, staging / "model.ort", for_this_cpu=ort_for_this_cpu)
        models = {"onnx": onnx_path, "ort": ort_path}
        if data is not None:
            models["int8"] = quantize_on_train_batches(onnx_path, staging / "model.int8.onnx", data, int8_batches)
        side_by_side = measure_at_table_speed(models, table, near_ms=dict.fromkeys(models, table.predict_ms(arch)),
                                              device=device, threads=threads)
        slower_or_faster = None if mismatch else speed_note(table.reference_ms, side_by_side.reference_now_ms)
        if slower_or_faster:
            log.info(slower_or_faster)
        card = _card(arch, model, result, provenance, table, side_by_side, models, max_abs_diff, ort_for_this_cpu,
                     changed, mismatch or precision_note or slower_or_faster, not mismatch)
        if data is not None:
            card = replace(card, int8=Int8Result(
                models["int8"].name, int8_batches, onnx_test_accuracy(models["int8"], data),
                onnx_test_accuracy(onnx_path, data), side_by_side.measurements["int8"].median_ms,
                side_by_side.measurements["onnx"].median_ms / side_by_side.measurements["int8"].median_ms))
        card.save(staging / "model_card.json")
    log.info(f"wrote {out}/model.onnx, {out}/model.ort{', ' + str(out / 'model.int8.onnx') if data else ''} and "
             f"{out}/model_card.json")
    return card


def _int8_data(run: RunFolder, space, batches: int, trusted: bool):
    """The retrain run's data module, set up, to calibrate and test the int8 model on."""
    data = datamodule_of_run(run.config, space, "--int8 calibrates on the data of the run `hwnas retrain` wrote "
                             "there; point --run at a whole retrain folder", trusted, augment="none", num_workers=0)
    data.setup("fit")
    return data


def _card(arch, model, result: RetrainSummary, provenance, table, side_by_side, models: dict, max_abs_diff: float,
          ort_for_this_cpu: bool, changed: str | None, note: str | None, comparable: bool) -> ModelCard:
    """The card of the float export; the target is judged on the model at the table's precision."""
    judged = "int8" if table.precision == INT8 else "onnx"
    float_ms, ort_ms = side_by_side.measurements["onnx"].median_ms, side_by_side.measurements["ort"].median_ms
    # the prediction at the speed the judged model ran: prediction / predicted_now = table's speed / raw
    speed = side_by_side.measurements.get(judged, side_by_side.measurements["onnx"])
    weight_mb, activation_kb = arch_memory(arch)
    predicted_ms = table.predict_ms(arch)
    space = arch.space
    latency = CardLatency(
        table.precision, models[judged].name if judged in models else None, predicted_ms,
        predicted_ms * speed.median_ms / speed.at_table_speed_ms, table.ref, table.method, changed,
        table.reference_ms, side_by_side.reference_now_ms, side_by_side.measurements.get(judged), float_ms, ort_ms,
        _which_to_deploy(float_ms, ort_ms, ort_for_this_cpu), comparable and judged in models, note)
    return ModelCard(
        datetime.now(timezone.utc).isoformat(timespec="seconds"), {"onnx": "model.onnx", "ort": "model.ort"}, OPSET,
        "all: for this machine's kind of CPU only" if ort_for_this_cpu else "basic: portable (the target applies no more)",
        ("batch", space.in_channels, space.resolution, space.resolution), arch_weight_count(arch), space.name,
        space.fingerprint(), arch.ops, weight_mb, activation_kb, result.test_accuracy, result.dataset, latency, None,
        provenance, max_abs_diff)
