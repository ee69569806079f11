"""Channels-last memory layout for training on a CUDA GPU.

cuDNN's tensor-core convolutions (bf16 and fp16) read NHWC; with the default NCHW layout each
one is wrapped in transposes. A module that mixes this in converts its weights in `setup`, when
the run's device is CUDA (before the strategy moves them there, keeping the layout, and before
DDP lays out its gradient buckets), and every 4-d tensor of each batch after it reaches the
device. On a CPU it does nothing: the CPU kernels this project was measured with are NCHW's.
"""

from __future__ import annotations

import warnings

import torch
from lightning_fabric.utilities.apply_func import apply_to_collection
from torch import Tensor


# Lightning warns, on every run, that a module's batch hook takes precedence over the data
# module's: that is the intent here (the data modules define none).
warnings.filterwarnings("ignore", message="You have overridden `on_after_batch_transfer` in `LightningModule`")


def _channels_last(tensor: Tensor) -> Tensor:
    return tensor.contiguous(memory_format=torch.channels_last) if tensor.dim() == 4 else tensor


class ChannelsLastOnCuda:
    """Mix into a LightningModule before pl.LightningModule (class M(ChannelsLastOnCuda, pl.LightningModule))."""

    def setup(self, stage: str) -> None:
        super().setup(stage)
        if self.trainer.strategy.root_device.type == "cuda":
            self.to(memory_format=torch.channels_last)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        batch = super().on_after_batch_transfer(batch, dataloader_idx)
        return apply_to_collection(batch, Tensor, _channels_last) if self.device.type == "cuda" else batch
