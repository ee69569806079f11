"""The concrete blocks of every network hwnas builds, and the one factory for them.

The supernet, the latency-table entries and the derived subnet all get their modules from
here, so what is timed is exactly what is trained and deployed.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnas.net.space import LayerShape, OpSpec, SearchSpace, parse_op


def conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1,
            activation: bool = True) -> nn.Sequential:
    """Conv (no bias, 'same' padding for odd kernels) → BatchNorm → optional ReLU6.

    ONNX export folds the BN into the conv, so deployed cost is one Conv (+ Clip).
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if activation:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: (B, G·C, H, W) viewed as (B, G, C, H, W), groups and channels
    swapped, flattened back, so that the next grouped conv sees channels of every group."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(1, (self.groups, -1)).transpose(1, 2).flatten(1, 2)


class MBConv(nn.Module):
    """Inverted bottleneck body (MobileNetV2), without the residual add.

    (B, C_in, H, W) → 1×1 expand to C_in·E → K×K depthwise, stride → 1×1 project to C_out
    (linear: no activation after the projection). The residual is added by `Residual`. With G
    groups (`mb_k3_e1_g2`) both 1×1 convs are grouped and the channels shuffled after the first.
    """

    def __init__(self, op: OpSpec, shape: LayerShape):
        super().__init__()
        hidden, groups = shape.in_channels * op.expand, op.groups
        expand = [conv_bn(shape.in_channels, hidden, 1, groups=groups)] if op.expansion_conv else []
        shuffle = [ChannelShuffle(groups)] if groups > 1 else []
        self.body = nn.Sequential(
            *expand, *shuffle,
            conv_bn(hidden, hidden, op.kernel, shape.stride, groups=hidden),
            conv_bn(hidden, shape.out_channels, 1, groups=groups, activation=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Zero(nn.Module):
    """The `zero` candidate (and `skip` where the layer keeps its shape): outputs nothing. The space
    allows it only where the layer keeps its shape (stride 1, in == out channels), so its output is
    shaped like its input, and the layer's residual makes the layer identity."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class Residual(nn.Module):
    """y = x + body(x): how an MBConv layer whose shape is unchanged is deployed."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _body(op: OpSpec, shape: LayerShape) -> nn.Module:
    """What a non-identity op computes: an MBConv, or `skip`'s projection where the shape changes
    (1×1 conv with the layer's stride + BN + activation, FBNet's)."""
    return conv_bn(shape.in_channels, shape.out_channels, 1, shape.stride) if op.is_skip else MBConv(op, shape)


def build_candidate(op_name: str, shape: LayerShape) -> nn.Module:
    """The bare candidate (no residual) as held by a supernet mixed op."""
    op = parse_op(op_name)
    return Zero() if op.runs_nothing(shape) else _body(op, shape)


def build_layer(op_name: str, shape: LayerShape) -> nn.Module:
    """A searchable layer as deployed: the op with its residual; `zero` (and an identity `skip`) becomes identity."""
    op = parse_op(op_name)
    if op.runs_nothing(shape):
        return nn.Identity()
    body = _body(op, shape)
    return Residual(body) if shape.has_residual else body


def build_stem(space: SearchSpace) -> nn.Sequential:
    s = space.stem_shape
    return conv_bn(s.in_channels, s.out_channels, 3, s.stride)


class Head(nn.Module):
    """(B, C, H, W) → 1×1 conv to head channels → global average pool → linear → (B, classes)."""

    def __init__(self, space: SearchSpace):
        super().__init__()
        s = space.head_shape
        self.features = conv_bn(s.in_channels, s.out_channels, 1)
        self.classifier = nn.Linear(s.out_channels, space.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean(dim=(2, 3)))
