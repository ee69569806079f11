"""What an arch needs in memory as deployed (float32, batch 1, BatchNorm folded), and caps on it.

    weight_mb            every weight the ONNX file holds: each convolution's kernel and the bias
                         its BatchNorm folds into (out channels), the classifier's matrix and bias;
                         4 bytes each, MB = 10^6 bytes
    peak_activation_kb   the most bytes of activations alive at once while the net runs: at each
                         operation its input and its output, and, inside a residual layer, the
                         layer's input, which waits for the final add; KB = 10^3 bytes

Both are computed from the shapes, layer by layer: between two layers only the feature map is
alive, so the network's peak is the largest peak of its parts (stem, each searchable layer,
head), and its weights are their sum. The shapes are read from the deployed modules themselves
(one forward of a zero image through each part, with hooks), so they are the modules' own.

A cap is exact, never a penalty: an activation cap removes the candidates of a layer whose own
peak exceeds it (a peak is a maximum over layers), a weight cap bounds a sum, which the derive's
DP carries as a second dimension and select and front check per arch.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import nn

from hwnas.errors import HwnasError
from hwnas.net.arch import Arch
from hwnas.net.ops import Head, Residual, build_layer, build_stem
from hwnas.net.space import LayerShape, SearchSpace

BYTES = 4  # float32


def _weights(module: nn.Module) -> int:
    """Weights of the deployed module: convolution kernels + one folded bias per output channel, Linear's."""
    count = 0
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            count += m.weight.numel() + m.out_channels
        elif isinstance(m, nn.Linear):
            count += m.weight.numel() + m.out_features
    return count


@torch.no_grad()
def _peak_elements(module: nn.Module, in_channels: int, resolution: int) -> int:
    """The most activation elements alive at once while `module` runs on one image: at every
    convolution and linear layer (the pooling between them needs less) its input, its output and
    the inputs of the residual layers around it; at a residual add, x, body(x) and the sum."""
    held: list[torch.Tensor] = []  # inputs of the residual layers being run, waiting for their add
    peak = [in_channels * resolution * resolution]

    def operation(m, inputs, output):
        waiting = sum(t.numel() for t in held if all(t is not i for i in inputs))  # not also this op's input
        peak[0] = max(peak[0], waiting + sum(i.numel() for i in inputs) + output.numel())

    def enter(m, inputs):
        held.append(inputs[0])

    def leave(m, inputs, output):
        x = held.pop()
        peak[0] = max(peak[0], sum(t.numel() for t in held) + x.numel() + 2 * output.numel())  # x, body(x), sum

    hooks = []
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(operation))
        elif isinstance(m, Residual):
            hooks += [m.register_forward_pre_hook(enter), m.register_forward_hook(leave)]
    run_zero_image(module, in_channels, resolution, hooks)
    return peak[0]


@torch.no_grad()
def run_zero_image(module: nn.Module, in_channels: int, resolution: int, hooks: list) -> None:
    """One forward of a zero image (batch 1, eval mode) through `module`, its `hooks` removed after."""
    try:
        module.eval()(torch.zeros(1, in_channels, resolution, resolution))
    finally:
        for hook in hooks:
            hook.remove()


@functools.cache
def layer_weight_count(op: str, shape: LayerShape) -> int:
    """Weights of one searchable layer as deployed (zero: 0): the one weight count of hwnas, used by the
    memory caps, the model card and the latency calibration's weight term."""
    return _weights(build_layer(op, shape))


def layer_weight_mb(op: str, shape: LayerShape) -> float:
    return layer_weight_count(op, shape) * BYTES / 1e6


@functools.cache
def layer_memory(op: str, shape: LayerShape) -> tuple[float, float]:
    """(weight MB, peak activation KB) of one searchable layer as deployed (zero: nothing)."""
    peak = _peak_elements(build_layer(op, shape), shape.in_channels, shape.resolution)
    return layer_weight_mb(op, shape), peak * BYTES / 1e3


@functools.cache
def fixed_weight_count(space: SearchSpace) -> int:
    """Weights of the stem and the head together."""
    return _weights(build_stem(space)) + _weights(Head(space))


@functools.cache
def fixed_memory(space: SearchSpace) -> tuple[float, float]:
    """(weight MB, peak activation KB) of the stem and the head together."""
    peak = max(_peak_elements(build_stem(space), space.in_channels, space.resolution),
               _peak_elements(Head(space), space.head_shape.in_channels, space.head_shape.resolution))
    return fixed_weight_count(space) * BYTES / 1e6, peak * BYTES / 1e3


def arch_weight_count(arch: Arch) -> int:
    """Weights of the whole deployed net: stem, head and every searchable layer."""
    return fixed_weight_count(arch.space) + sum(layer_weight_count(op, layer.shape)
                                                for op, layer in zip(arch.ops, arch.space.layers()))


def arch_memory(arch: Arch) -> tuple[float, float]:
    """(weight MB, peak activation KB) of the whole deployed net."""
    fixed_mb, fixed_kb = fixed_memory(arch.space)
    layers = [layer_memory(op, layer.shape) for op, layer in zip(arch.ops, arch.space.layers())]
    return fixed_mb + sum(mb for mb, _ in layers), max([fixed_kb] + [kb for _, kb in layers])


@dataclass(frozen=True)
class MemoryCaps:
    max_weight_mb: float | None = None
    max_activation_kb: float | None = None

    def __post_init__(self):
        for name, cap in [("--max_weight_mb", self.max_weight_mb), ("--max_activation_kb", self.max_activation_kb)]:
            if cap is not None and not (math.isfinite(cap) and cap > 0):
                raise HwnasError(f"{name} must be a positive, finite number, got {cap}")

    def __bool__(self) -> bool:
        return self.max_weight_mb is not None or self.max_activation_kb is not None

    def fits(self, arch: Arch) -> bool:
        weight_mb, activation_kb = arch_memory(arch)
        return (self.max_weight_mb is None or weight_mb <= self.max_weight_mb) and \
            (self.max_activation_kb is None or activation_kb <= self.max_activation_kb)

    def allowed(self, op: str, shape: LayerShape) -> bool:
        """Whether a layer's own candidate can be part of an arch within the activation cap."""
        return self.max_activation_kb is None or layer_memory(op, shape)[1] <= self.max_activation_kb

    def to_json(self) -> dict:
        return {"max_weight_mb": self.max_weight_mb, "max_activation_kb": self.max_activation_kb}
