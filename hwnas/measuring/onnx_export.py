"""Export a module to one self-contained ONNX file, exactly as hwnas deploys it.

Every ONNX file hwnas writes (latency-table entries, the reference and calibration subnets,
the final model) comes from here, so the ops that were timed and the model that ships were
exported the same way: eval mode, BatchNorm folded into the convs, the same opset, one file.

The exporter is torch's TorchScript exporter (`dynamo=False`), chosen over the default
torch.export (dynamo) path for speed: on one demo MBConv block, with torch 2.14.1 on 2 cores,
dynamo took 0.85-1.1 s per export (4 s the first) and the TorchScript exporter 0.01-0.05 s; a
whole demo subnet 5 s against 0.1 s. A profile is mostly export (73 demo models: 3.6 min with
dynamo), and exports do not depend on the machine. After ONNX Runtime's graph optimisations
the two exporters' files hold the same ops (Conv+Clip+Add fused alike; the TorchScript file
adds Constant and Identity nodes that ORT folds away); tests/test_onnx_export.py checks that an
entry's ops are the ops of the same block inside an exported subnet. The TorchScript exporter
is deprecated in torch 2.14.1 but present: when it goes, this function is the one place to change.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from hwnas.files.atomic import atomic_output

OPSET = 18
EXPORTER = "torchscript"  # recorded with every export (kit file names, tables, cards)
INPUT_NAME, OUTPUT_NAME = "input", "output"


def export_onnx(module: nn.Module, example: torch.Tensor, path: str | Path, dynamic_batch: bool = True) -> Path:
    """Write `module` (run in eval mode on `example`, (B, C, H, W)) to `path`, atomically.

    The batch axis is dynamic unless `dynamic_batch` is False. The TorchScript exporter folds
    each eval-mode BatchNorm into the conv before it (constant folding in inference mode).
    """
    was_training = module.training
    module.eval()
    dynamic_axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}} if dynamic_batch else None
    try:
        with atomic_output(path) as temporary, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation notice: the docstring says why we use it
            torch.onnx.export(
                module, (example,), str(temporary), dynamo=False, opset_version=OPSET, do_constant_folding=True,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], dynamic_axes=dynamic_axes, verbose=False,
            )
    finally:
        module.train(was_training)
    return Path(path)


def convert_to_ort(onnx_path: str | Path, ort_path: str | Path, for_this_cpu: bool = False) -> Path:
    """Write the ORT-format model (`.ort`, what ONNX Runtime Mobile loads) of an ONNX file.

    An ORT-format model is run as saved: ONNX Runtime does not apply its extended and layout
    optimisations when it loads one. Saved after the basic (platform-independent) ones, as
    convert_onnx_models_to_ort's 'fixed' style does, a CPU model runs several times slower than its
    .onnx, which gets them all at load; the difference is the NCHWc layout transform, which is
    specific to the CPU's instruction set. So `for_this_cpu` saves at the level ALL, for a model that will
    run on this machine's kind of CPU; otherwise basic, portable to a phone, which applies none.
    """
    import onnxruntime as ort

    level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL if for_this_cpu else ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with atomic_output(ort_path) as temporary:
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        options.log_severity_level = 3  # ORT warns that a level-ALL model is hardware specific: said above
        options.optimized_model_filepath = str(temporary)
        options.add_session_config_entry("session.save_model_format", "ORT")
        ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    return Path(ort_path)
