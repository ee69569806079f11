"""int8 models as hwnas deploys them, and precision as part of a table's device.

One quantization for every int8 file hwnas writes or times (table entries, reference and
calibration subnets, fresh subnets of a fidelity report, derive's measurement, the exported
model.int8.onnx): ONNX Runtime static quantization in QDQ format, int8 weights per output
channel, uint8 activations with min/max ranges. The same ops with the same quantize/dequantize
pairs are then what the table priced and what ships.

A model timed for a table is calibrated on a few random inputs: the ranges change the values of
the scales, not which kernels run, so latency does not depend on them. The exported model is
calibrated on the run's own train batches (export/quantize.py), because its accuracy does.

Precision belongs to the device: a table records it in its device (latency/table.py), and
whatever is compared with the table is exported at that precision.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from torch import nn

from hwnas.atomic import atomic_output
from hwnas.latency.table import FLOAT32
from hwnas.measuring.onnx_export import INPUT_NAME, export_onnx

TIMING_CALIBRATION_INPUTS = 2  # random inputs that set the activation ranges of a model only timed


def quantize_int8(onnx_path: str | Path, out_path: str | Path, batches: Iterable[np.ndarray]) -> Path:
    """Write the int8 model of `onnx_path` to `out_path` (atomically), the activation ranges
    calibrated on `batches` (float32 arrays of the model's input shape)."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    # Quiet while quantizing: the quantizer's advice to pre-process (we quantize the file as exported,
    # as the table's entries were) and ORT's notes on the initializers its calibration copy drops.
    quantizers = [logging.getLogger("onnxruntime.quantization"), logging.getLogger()]  # it also logs on the root
    levels = [log.level for log in quantizers]
    for log in quantizers:
        log.setLevel(logging.ERROR)
    ort.set_default_logger_severity(3)
    try:
        with atomic_output(out_path) as temporary:
            quantize_static(str(onnx_path), str(temporary), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    finally:
        for log, level in zip(quantizers, levels):
            log.setLevel(level)
        ort.set_default_logger_severity(2)  # ORT's default: warnings
    return Path(out_path)


def export_deployed(module: nn.Module, example, path: str | Path, precision: str, dynamic_batch: bool = True) -> Path:
    """Export `module` as it is deployed at `precision` to `path`: the float ONNX file, or its
    int8 model calibrated on random inputs of `example`'s shape."""
    if precision == FLOAT32:
        return export_onnx(module, example, path, dynamic_batch=dynamic_batch)
    path = Path(path)
    float_path = export_onnx(module, example, path.with_suffix(".float.onnx"), dynamic_batch=dynamic_batch)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(tuple(example.shape), dtype=np.float32) for _ in range(TIMING_CALIBRATION_INPUTS)]
    try:
        return quantize_int8(float_path, path, inputs)
    finally:
        float_path.unlink()
