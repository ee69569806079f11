"""int8 models as hwnas deploys them, and precision as part of a table's device.

One quantization for every int8 file hwnas writes or times (table entries, reference and
calibration subnets, fresh subnets of a fidelity report, derive's measurement, the exported
model.int8.onnx): ONNX Runtime static quantization in QDQ format, int8 weights per output
channel, uint8 activations with min/max ranges, after the quantizer's pre-processing (ORT's basic
graph optimisations). The same ops with the same quantize/dequantize pairs are then what the
table priced and what ships.

The pre-processing decides which kernels run. The TorchScript exporter shares equal bias tensors
between convolutions through Identity nodes, and an untrained net (BatchNorm at its defaults, as
the table's models are) has many equal, zero, biases; quantized as exported, a shared bias's
DequantizeLinear cannot fuse into each Conv, so many convolutions stay float (DequantizeLinear →
Conv → QuantizeLinear, wrapped in layout Transposes) and run several times slower than float; a
trained net's biases differ, so a table would price a slower graph than the one that ships.
Pre-processed, the Identities are gone and every convolution becomes a QLinearConv whatever the
weights (BENCHMARKS.md, "int8", has the times of both).

A model timed for a table is calibrated on a few random inputs: the ranges change the values of
the scales, not which kernels run, so latency does not depend on them. The exported model is
calibrated on the run's own train batches (export/quantize.py), because its accuracy does.

Precision belongs to the device: a table records it in its device (latency/table.py), and
whatever is compared with the table is exported at that precision.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnxruntime as ort
from torch import nn

from hwnas.files.atomic import atomic_output
from hwnas.latency.device import FLOAT32
from hwnas.measuring.onnx_export import INPUT_NAME, export_onnx

# Recorded in the name of every int8 file a kit exports, so that a resumed kit never reuses a model
# quantized another way (the pre-processing changed which kernels run: module docstring).
QUANTIZATION = "QDQ; int8 per-channel weights; uint8 MinMax activations; pre-processed"
TIMING_CALIBRATION_INPUTS = 2  # random inputs that set the activation ranges of a model only timed


def quantize_int8(onnx_path: str | Path, out_path: str | Path, batches: Iterable[np.ndarray]) -> Path:
    """Write the int8 model of `onnx_path` to `out_path` (atomically), the activation ranges
    calibrated on `batches` (float32 arrays of the model's input shape)."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT_NAME: batch}

    # ORT's runtime warns, on stderr, of the initializers its calibration copy drops: quiet while quantizing.
    # (Its quantizer's Python notes go to the logging module, where the command line filters them: console.py.)
    ort.set_default_logger_severity(3)
    prepared = Path(out_path).with_suffix(".prepared.onnx")
    try:
        quant_pre_process(str(onnx_path), str(prepared), skip_symbolic_shape=True)  # the module docstring says why
        with atomic_output(out_path) as temporary:
            quantize_static(str(prepared), str(temporary), Batches(), quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    finally:
        prepared.unlink(missing_ok=True)
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
