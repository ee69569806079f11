"""Profiling kits: everything a device needs to measure a latency table, and the import back.

A kit folder holds, for one space and device kind:

    models/         every table entry (batch 1, as deployed), the reference subnet and the
                    calibration subnets, as .onnx (int8 for --precision int8), plus .ort for
                    device `mobile`
    manifest.json   what each model is: {"name": {"file", "kind": entry|reference|subnet, "key"|"ops"}}
    timing.py       the interleaved ONNX Runtime protocol (a verbatim copy of hwnas's)
    run.py          the runner (kit_runner.py): python3 run.py → results.json

`hwnas profile` is this same path run locally: write a kit (resumable: finished exports are
kept), run its runner in-process, import its results.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from hwnas.files.atomic import check_writable, write_json
from hwnas.files.numbers import milliseconds
from hwnas.errors import HwnasError
from hwnas.latency.calibration import fit_calibration
from hwnas.latency.device import FLOAT32, PRECISIONS, Device
from hwnas.latency.table import EntryStats, LatencyTable, head_key, layer_key, required_keys, stem_key
from hwnas.measuring import timing
from hwnas.measuring.fidelity import VALIDATION_SAMPLES
from hwnas.measuring.onnx_export import EXPORTER, OPSET, convert_to_ort
from hwnas.measuring.quantize import QUANTIZATION, export_deployed
from hwnas.net.arch import Arch, build_subnet, random_arch
from hwnas.net.ops import Head, build_layer, build_stem
from hwnas.net.space import LayerShape, SearchSpace, load_space, parse_op, parse_space
from hwnas.profile import kit_runner
from hwnas.files.strict import read_json

log = logging.getLogger(__name__)
MANIFEST_FORMAT, MANIFEST_VERSION = "hwnas.kit", 1
CALIBRATION_SAMPLES = 40  # measured subnets the calibration (up to 4 coefficients) is fitted on
MAX_CALIBRATION_SAMPLES = 1000  # whole subnets timed in one interleaved run: ~an hour of a 2-core machine
MIN_SMALL_SPACE_CALIBRATION = 8  # 2 distinct subnets per coefficient of the 4-term fit (calibration.py)
MOBILE_NOTE = ("proxy: ORT-format models on this machine's CPU with one thread; a phone's real table "
               "comes from `hwnas kit --device mobile` run on the phone")


class KitError(HwnasError):
    pass


def reference_arch(space: SearchSpace) -> Arch:
    """The fixed reference subnet timed with every measurement: each layer's first non-zero op."""
    return Arch(space, tuple(next(op for op in layer.candidates if not parse_op(op).runs_nothing(layer.shape))
                             for layer in space.layers()))


def calibration_count(space: SearchSpace, requested: int) -> int:
    """How many subnets to calibrate on: `requested`, unless the space is so small that they would
    leave fewer than VALIDATION_SAMPLES subnets for `hwnas validate-table` to check the table on
    (a 2-layer space of 6 ops holds 42 archs); then as many as leave those, if that is at least
    MIN_SMALL_SPACE_CALIBRATION. Smaller spaces calibrate on what was asked and cannot be validated."""
    archs = space.arch_count()
    spare = archs - 1 - VALIDATION_SAMPLES  # 1: the reference, timed with every measurement anyway
    return min(requested, spare) if spare >= MIN_SMALL_SPACE_CALIBRATION else requested


def check_calibration_count(space: SearchSpace, count: int, option: str) -> None:
    """`count` subnets to time whole for a calibration: at least 2 (the 1-term fit, the last fallback, needs
    2 distinct ones), at most MAX_CALIBRATION_SAMPLES, and a space that holds 2 besides the reference."""
    if not 2 <= count <= MAX_CALIBRATION_SAMPLES:
        raise KitError(f"{option} must be in 2-{MAX_CALIBRATION_SAMPLES}, got {count}")
    if space.arch_count() < 3:
        raise KitError(f"space {space.name} holds {space.arch_count()} arch(s): a table is calibrated on whole subnets, "
                       f"2 besides its reference at least: give its layers more candidates")
    if count > space.arch_count() - 1:
        log.info(f"note: space {space.name} holds {space.arch_count()} archs: timing all {space.arch_count() - 1} "
                 f"besides the reference, not {count}")


def calibration_archs(space: SearchSpace, count: int, seed: int) -> list[Arch]:
    """`count` distinct subnets spanning the space: the smallest and the largest (by kernel·expand,
    zero smallest), then uniformly random ones. The reference is left out (it is timed anyway)."""
    def by_size(pick: Callable) -> Arch:
        return Arch(space, tuple(pick(layer.candidates, key=lambda op: parse_op(op).kernel * parse_op(op).expand)
                                 for layer in space.layers()))

    count = min(count, space.arch_count() - 1)  # every arch but the reference, in a space that small
    chosen = {a.ops: a for a in (by_size(min), by_size(max)) if a.ops != reference_arch(space).ops}
    rng = random.Random(seed)
    for _ in range(100 * count):  # uniform draws: a few repeats, then `count` distinct
        if len(chosen) >= count:
            break
        arch = random_arch(space, rng)
        if arch.ops != reference_arch(space).ops:
            chosen.setdefault(arch.ops, arch)
    return list(chosen.values())[:count]


def _plan(space: SearchSpace, calibration_samples: int, seed: int, subnets: Sequence[Arch] | None = None
          ) -> dict[str, tuple[dict, Callable[[], nn.Module], LayerShape, bool]]:
    """name → (manifest description, module builder, input shape, dynamic batch). Entries are
    timed at batch 1 with a fixed batch, whole subnets with a dynamic batch axis, as the final
    model is exported. Given `subnets`, the plan is the reference and those subnets only (an
    onboarding kit: profile/onboard.py)."""
    if subnets is not None:
        archs = {"reference": reference_arch(space)}
        others = [arch for arch in subnets if arch.ops != archs["reference"].ops]
        archs.update((f"subnet{i:03d}", arch) for i, arch in enumerate(others, 1))
        return {name: ({"kind": "reference" if name == "reference" else "subnet", "ops": list(arch.ops)},
                       lambda arch=arch: build_subnet(arch), space.stem_shape, True) for name, arch in archs.items()}
    builders = {stem_key(space): (lambda: build_stem(space), space.stem_shape),
                head_key(space): (lambda: Head(space), space.head_shape)}
    for layer in space.layers():
        for op in layer.candidates:
            if not parse_op(op).runs_nothing(layer.shape):
                builders.setdefault(layer_key(op, layer.shape),
                                    (lambda op=op, shape=layer.shape: build_layer(op, shape), layer.shape))
    plan = {f"entry{i:03d}": ({"kind": "entry", "key": key}, *builders[key], False)
            for i, key in enumerate(required_keys(space), start=1)}
    archs = {"reference": reference_arch(space)}
    calibration = calibration_archs(space, calibration_count(space, calibration_samples), seed)
    archs.update((f"subnet{i:03d}", arch) for i, arch in enumerate(calibration, 1))
    for name, arch in archs.items():
        kind = "reference" if name == "reference" else "subnet"
        plan[name] = ({"kind": kind, "ops": list(arch.ops)}, lambda arch=arch: build_subnet(arch), space.stem_shape, True)
    return plan


def _export_name(name: str, description: dict, space: SearchSpace, shape: LayerShape, dynamic_batch: bool,
                 suffix: str, precision: str, weight_seed: int) -> str:
    """`entry003-1f2e3d4c5b6a`: the plan's name and a hash of everything the exported file depends
    on: what it computes (an entry's key and input shape; a subnet's ops and the space's
    fingerprint, which its channels come from), the opset, the exporter and torch's version,
    the format, the precision (and an int8 file's quantization), the batch axis and the weights' seed."""
    identity = {"model": description, "input": [shape.in_channels, shape.resolution], "dynamic_batch": dynamic_batch,
                "space": space.fingerprint() if description["kind"] != "entry" else None,
                **export_identity(), "format": suffix, "weight_seed": weight_seed,
                # float32 adds nothing: float names are as before int8 tables, so float kits resume as before
                **({"precision": precision, "quantization": QUANTIZATION} if precision != FLOAT32 else {})}
    return f"{name}-{hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]}"


def export_identity() -> dict:
    """How the kit's models were exported: what the timed files depend on besides the space."""
    return {"exporter": EXPORTER, "opset": OPSET, "torch": torch.__version__}


def write_kit(space: SearchSpace, folder: str | Path, *, device: str = "cpu", threads: int = 1,
              precision: str = FLOAT32, calibration_samples: int = CALIBRATION_SAMPLES, seed: int = 0,
              resume: bool = False, subnets: Sequence[Arch] | None = None) -> dict:
    """Export every model of the plan into `folder`, at `precision` (measuring/quantize.py), and
    write the manifest and the runner. Given `subnets`: only the reference and those (`_plan`).

    With `resume`, models already exported there are kept (exports are atomic, so a file
    that exists is complete) when they are the same model: files are named by content
    (`_export_name`), so an export of an edited space, another opset, exporter or format is
    never taken for this one. Each model's weights come from its own seed, so a resumed kit
    equals an uninterrupted one.
    """
    timing.check_device(device, threads)  # a bad kind or thread count fails before minutes of export
    if precision not in PRECISIONS:
        raise KitError(f"unknown precision {precision!r}: use {' or '.join(PRECISIONS)}")
    check_calibration_count(space, calibration_samples, "--calibration_samples")
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not resume:
        raise KitError(f"{folder} exists and is not empty: pass --resume to continue it, or remove it")
    plan = _plan(space, calibration_samples, seed, subnets)
    suffix = ".ort" if device == "mobile" else ".onnx"
    models, exported = {}, 0
    progress = timing.Progress("exporting model", len(plan), log.info)
    for index, (name, (description, build, shape, dynamic_batch)) in enumerate(plan.items()):
        weight_seed = seed * 100_003 + index  # per-model seed: resume-safe weights
        file_name = _export_name(name, description, space, shape, dynamic_batch, suffix, precision, weight_seed)
        onnx_path, model_path = folder / "models" / f"{file_name}.onnx", folder / "models" / f"{file_name}{suffix}"
        if not model_path.is_file():
            torch.manual_seed(weight_seed)
            example = torch.randn(1, shape.in_channels, shape.resolution, shape.resolution)
            export_deployed(build(), example, onnx_path, precision, dynamic_batch=dynamic_batch)
            if suffix == ".ort":
                convert_to_ort(onnx_path, model_path)
            exported += 1
        progress(index + 1)
        models[name] = {**description, "file": f"models/{file_name}{suffix}"}
    log.info(f"kit ready: {len(plan)} models ({exported} exported now, {len(plan) - exported} kept)")
    # a full mobile kit is also what `hwnas profile --device mobile` runs here, a proxy; an onboarding kit
    # (subnets given) is only ever for the device itself
    notes = {"notes": {"note": MOBILE_NOTE}} if device == "mobile" and subnets is None else {}
    manifest = {"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION,
                "space": {"name": space.name, "fingerprint": space.fingerprint(), "definition": space.to_dict()},
                "device": {"kind": device, "threads": threads, "precision": precision, **notes},
                "export": export_identity(), "models": models}
    write_json(folder / "manifest.json", manifest)
    shutil.copyfile(timing.__file__, folder / "timing.py")
    shutil.copyfile(kit_runner.__file__, folder / "run.py")
    return manifest


def write_kit_folder(space_path: str, out: str, *, device: str = "mobile", threads: int = 1,
                     precision: str = FLOAT32, calibration_samples: int = CALIBRATION_SAMPLES,
                     resume: bool = False) -> dict:
    """`hwnas kit`: the kit of the space at `space_path` in the folder `out`; returns its manifest."""
    check_writable(out, folder=True)
    manifest = write_kit(load_space(space_path), out, device=device, threads=threads, precision=precision,
                         calibration_samples=calibration_samples, resume=resume)
    log.info(f"wrote {out}: {len(manifest['models'])} models. Copy the folder to the device, run `python3 run.py` "
             f"there (needs numpy and onnxruntime), then `hwnas import-table results.json --out ...`")
    return manifest


def _plausible_ms(value) -> bool:
    try:
        milliseconds(value)
    except ValueError:
        return False
    return True


def load_results(path: str | Path) -> dict:
    path = Path(path)
    results = read_json(path, error=KitError, missing="no such results file (the kit's run.py writes results.json)",
                        redo="run the kit's run.py again", non_finite_ok=True)  # checked per model below
    return check_results(results, path)


def is_results(data: object) -> bool:
    """Whether `data` says it is a kit's results (of any version)."""
    return isinstance(data, dict) and data.get("format") == kit_runner.RESULTS_FORMAT


def check_results(results: object, path: str | Path) -> dict:
    if not is_results(results) or results.get("version") != kit_runner.RESULTS_VERSION:
        raise KitError(f"{path}: not the results of an hwnas kit (version {kit_runner.RESULTS_VERSION})")
    return results


def import_results(results: dict, source: str = "results") -> LatencyTable:
    """Build a table from a kit's results: entries, reference, and the calibration fitted on the
    subnets (calibration.py chooses how many terms, and refuses when none fits)."""
    try:
        manifest, stats = results["manifest"], results["stats"]
        space = parse_space(manifest["space"]["definition"], f"{source} (space definition)")
        by_kind: dict[str, list[tuple[dict, dict]]] = {"entry": [], "reference": [], "subnet": []}
        for name, model in manifest["models"].items():
            by_kind[model["kind"]].append((model, stats[name]))
        (reference, reference_stats), = by_kind["reference"]
        table = LatencyTable(
            space=space, device=Device.from_json(results["device"]), protocol=dict(results["protocol"]),
            entries={model["key"]: EntryStats(s["median_ms"], s["p25_ms"], s["p75_ms"]) for model, s in by_kind["entry"]},
            reference_ops=tuple(reference["ops"]), reference_ms=reference_stats["median_ms"],
        )
        if "export" in manifest:
            table.protocol = {**table.protocol, "export": manifest["export"]}
        subnets = [(Arch(space, tuple(model["ops"])), s["median_ms"]) for model, s in by_kind["subnet"]]
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # DeviceRecordError is a ValueError
        raise KitError(f"{source}: incomplete kit results ({type(error).__name__}: {error}): run the kit again") from None
    if set(table.entries) != set(required_keys(space)):
        raise KitError(f"{source}: the results do not cover the space's entries: run the kit again")
    timings = [(model.get("key") or model["kind"], value) for _, models in by_kind.items() for model, stats in models
               for value in (stats["median_ms"], stats["p25_ms"], stats["p75_ms"])]
    broken = next(((name, value) for name, value in timings if not _plausible_ms(value)), None)
    if broken:  # a NaN once reached the calibration fit as a LinAlgError
        raise KitError(f"{source}: model {broken[0]!r} has a latency of {broken[1]} ms, which no measurement gives: "
                       f"run the kit again")
    try:
        table.calibration = fit_calibration([table.calibration_point(arch, measured) for arch, measured in subnets])
    except ValueError as refused:  # raw sums are no prediction (docs/latency.md): no table
        raise KitError(f"{source}: {refused}; the kit's exports are kept: re-run it (--resume) with more "
                       f"--calibration-samples, or on a quieter machine") from None
    return table
