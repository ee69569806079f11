"""Optional int8 export (`hwnas export --int8 N`): model.int8.onnx calibrated on the run's data.

The quantization is the one every int8 table was timed with (measuring/quantize.py); the
activation ranges come from N train batches of the retrain run's own data (its
logs/config.yaml, no augmentation). The model card then states the int8 model's test
accuracy, computed over the whole test split in ONNX Runtime, and its latency measured beside
the float model's: int8 is faster only where the CPU has int8 dot-product instructions and
the ops have int8 kernels (depthwise convolutions often do not), so it is measured, never assumed.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import onnxruntime as ort

from hwnas.data import ImageDataModule
from hwnas.measuring.onnx_export import INPUT_NAME
from hwnas.measuring.quantize import quantize_int8


def quantize_on_train_batches(onnx_path: Path, out_path: Path, data: ImageDataModule, batches: int) -> Path:
    """Write the int8 version of `onnx_path` to `out_path` (atomically), calibrated on the first
    `batches` train batches of `data` (set up)."""
    images = (batch[0].numpy() for batch in islice(iter(data.train_dataloader()), batches))
    return quantize_int8(onnx_path, out_path, images)


def onnx_test_accuracy(model_path: Path, data: ImageDataModule) -> float:
    """Top-1 accuracy of an ONNX model over the whole test split of `data` (set up), in ONNX Runtime."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    correct = total = 0
    for images, labels in data.test_dataloader():
        (logits,) = session.run(None, {INPUT_NAME: images.numpy()})
        correct += int((logits.argmax(1) == labels.numpy()).sum())
        total += len(labels)
    return correct / total
