"""Optional int8 export (`hwnas export --int8 N`): ONNX Runtime static quantization of model.onnx.

QDQ format, int8 weights per output channel, uint8 activations with ranges calibrated (min/max)
on N train batches of the retrain run's own data (its logs/config.yaml, no augmentation). The
model card then states the int8 model's test accuracy, computed over the whole test split in
ONNX Runtime, and its latency measured beside the float model's: int8 is faster only where
the CPU has int8 dot-product instructions and the ops have int8 kernels (depthwise convolutions
often do not), so it is measured, never assumed.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from torch.utils.data import DataLoader

from hwnas.atomic import atomic_output
from hwnas.data import ImageDataModule
from hwnas.measuring.onnx_export import INPUT_NAME


class _TrainBatches(CalibrationDataReader):
    """The first `count` batches of a loader, as quantize_static's calibration reads them."""

    def __init__(self, loader: DataLoader, count: int):
        self.batches = islice(iter(loader), count)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {INPUT_NAME: batch[0].numpy()}


def quantize_int8(onnx_path: Path, out_path: Path, data: ImageDataModule, batches: int) -> Path:
    """Write the int8 version of `onnx_path` to `out_path` (atomically), calibrated on `batches`
    train batches of `data` (set up)."""
    with atomic_output(out_path) as temporary:
        quantize_static(str(onnx_path), str(temporary), _TrainBatches(data.train_dataloader(), batches),
                        quant_format=QuantFormat.QDQ, per_channel=True, weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8, calibrate_method=CalibrationMethod.MinMax)
    return out_path


def onnx_test_accuracy(model_path: Path, data: ImageDataModule) -> float:
    """Top-1 accuracy of an ONNX model over the whole test split of `data` (set up), in ONNX Runtime."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    correct = total = 0
    for images, labels in data.test_dataloader():
        (logits,) = session.run(None, {INPUT_NAME: images.numpy()})
        correct += int((logits.argmax(1) == labels.numpy()).sum())
        total += len(labels)
    return correct / total
