"""Multiply-accumulates of an arch as deployed, at batch 1: a no-training baseline beside the latency table.

Every convolution counts out_H · out_W · out_C · (in_C / groups) · k_H · k_W, every linear layer
in · out; BatchNorm folds into its convolution, and activations, additions and pooling are not counted.
The shapes come from one forward of a zero image through each part (hooks), as net/memory.py reads them.
"""

from __future__ import annotations

import functools

from torch import nn

from hwnas.net.arch import Arch
from hwnas.net.memory import run_zero_image
from hwnas.net.ops import Head, build_layer, build_stem
from hwnas.net.space import LayerShape, SearchSpace


def _macs(module: nn.Module, in_channels: int, resolution: int) -> int:
    total = [0]

    def count(m, inputs, output):
        if isinstance(m, nn.Conv2d):
            total[0] += output.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += m.in_features * m.out_features

    run_zero_image(module, in_channels, resolution,
                   [m.register_forward_hook(count) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))])
    return total[0]


@functools.cache
def layer_macs(op: str, shape: LayerShape) -> int:
    return _macs(build_layer(op, shape), shape.in_channels, shape.resolution)


@functools.cache
def stem_macs(space: SearchSpace) -> int:
    return _macs(build_stem(space), space.in_channels, space.resolution)


@functools.cache
def head_macs(space: SearchSpace) -> int:
    head = space.head_shape
    return _macs(Head(space), head.in_channels, head.resolution)


def fixed_macs(space: SearchSpace) -> int:
    """The stem's and the head's."""
    return stem_macs(space) + head_macs(space)


def arch_macs(arch: Arch) -> int:
    return fixed_macs(arch.space) + sum(layer_macs(op, layer.shape) for op, layer in zip(arch.ops, arch.space.layers()))
