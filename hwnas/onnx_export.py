"""Export a module to one self-contained ONNX file, exactly as hwnas deploys it.

Every ONNX file hwnas writes (latency-table entries, the final model) comes from here, so
the ops that were timed and the model that ships were exported the same way: eval mode,
BatchNorm folded into the convs by the exporter's optimiser, the same opset, one file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from hwnas.atomic import atomic_output

OPSET = 18
INPUT_NAME, OUTPUT_NAME = "input", "output"


def export_onnx(module: nn.Module, example: torch.Tensor, path: str | Path, dynamic_batch: bool = True) -> Path:
    """Write `module` (run in eval mode on a copy of `example`, (B, C, H, W)) to `path`.

    torch 2.14 exports through torch.export (dynamo) and would split weights into an
    external-data file by default; `external_data=False` keeps one file. The batch axis is
    dynamic unless `dynamic_batch` is False. The write is atomic.
    """
    was_training = module.training
    module.eval()
    try:
        with atomic_output(path) as temporary, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's deprecation chatter, not the user's concern
            torch.onnx.export(
                module, (example,), str(temporary), dynamo=True, external_data=False,
                opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch")},) if dynamic_batch else None,
            )
    finally:
        module.train(was_training)
    return Path(path)


def convert_to_ort(onnx_path: str | Path, ort_path: str | Path, for_this_cpu: bool = False) -> Path:
    """Write the ORT-format model (`.ort`, what ONNX Runtime Mobile loads) of an ONNX file.

    An ORT-format model is run as saved: ONNX Runtime does not apply its extended and layout
    optimisations when it loads one. Saved after the basic (platform-independent) ones, as
    convert_onnx_models_to_ort's 'fixed' style does, the demo net ran 0.71 ms against 0.077 ms
    for the .onnx on the same CPU (9.2x, median of 300 interleaved rounds). Saved after all of
    them it ran 0.077 ms: the difference is the NCHWc layout transform, which is specific to
    the CPU's instruction set. So `for_this_cpu` saves at the level ALL, for a model that will
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
