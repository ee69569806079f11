"""The timed entries and the shipped model go through one exporter: the table entries of a subnet
(stem, each layer, head), exported as profiling exports them, hold exactly the ONNX ops of the
exported subnet, in its order, with BatchNorm folded."""

from __future__ import annotations

import onnx
import torch

from hwnas.measuring.onnx_export import export_onnx
from hwnas.net.arch import Arch, build_subnet
from hwnas.net.ops import Head, build_layer, build_stem
from hwnas.net.space import load_space

BOOKKEEPING = {"Constant", "Identity"}  # the exporter's scaffolding, folded away by ONNX Runtime


def op_types(module, shape, path) -> list[str]:
    """(in_channels, resolution) → the exported file's op types, in graph order."""
    channels, resolution = shape
    export_onnx(module, torch.randn(1, channels, resolution, resolution), path)
    return [node.op_type for node in onnx.load(str(path)).graph.node if node.op_type not in BOOKKEEPING]


def test_the_entries_of_a_subnet_hold_exactly_the_subnets_exported_ops(tmp_path):
    space = load_space("recipes/spaces/demo.yaml")
    layers = space.layers()
    arch = Arch(space, tuple(["mb_k5_e3", "mb_k7_e6", "mb_k3_e3", "zero", "mb_k3_e6", "mb_k5_e6"]))
    torch.manual_seed(0)
    parts = [(build_stem(space), space.stem_shape)]
    parts += [(build_layer(op, layer.shape), layer.shape) for layer, op in zip(layers, arch.ops) if op != "zero"]
    parts.append((Head(space), space.head_shape))
    entries = [op_types(module, (shape.in_channels, shape.resolution), tmp_path / f"entry{i}.onnx")
               for i, (module, shape) in enumerate(parts)]
    subnet = op_types(build_subnet(arch), (space.in_channels, space.resolution), tmp_path / "subnet.onnx")
    assert entries[2] == ["Conv", "Clip", "Conv", "Clip", "Conv", "Add"]  # expand, depthwise, project, residual
    assert "BatchNormalization" not in subnet
    assert subnet == [op for entry in entries for op in entry]
