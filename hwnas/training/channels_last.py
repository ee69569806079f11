"""Channels-last memory layout for training, on every device.

Convolutions read NHWC fastest: cuDNN's tensor-core kernels (bf16, fp16) and oneDNN's CPU kernels,
which otherwise reorder every NCHW tensor on the way in and out. A module that mixes this in converts
its weights in `setup` (before the strategy moves them to the device, keeping the layout, and before
DDP lays out its gradient buckets) and every 4-d tensor of each batch after it reaches the device.
BENCHMARKS.md ("Training layout") has the step times of both layouts on the CPU.
"""

from __future__ import annotations

import torch
from lightning_fabric.utilities.apply_func import apply_to_collection
from torch import Tensor


def _channels_last(tensor: Tensor) -> Tensor:
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 else tensor


class ChannelsLast:
    """Mix into a LightningModule before pl.LightningModule (class M(ChannelsLast, pl.LightningModule))."""

    def setup(self, stage: str) -> None:
        super().setup(stage)
        self.to(memory_format=torch.channels_last)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        batch = super().on_after_batch_transfer(batch, dataloader_idx)
        return apply_to_collection(batch, Tensor, _channels_last)
