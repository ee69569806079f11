"""Saved tensors back into a network, or one line saying why not.

Every file hwnas loads weights from (a search or retrain checkpoint, a retrained subnet.pt)
goes through `read_saved` (weights_only: tensors and plain values, safe to load from a
stranger) and `check_fits`. Without them a checkpoint of another space or arch ended in
PyTorch's ~100 lines of "size mismatch for …", one per tensor.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from hwnas.errors import HwnasError


def read_saved(path: str | Path, written_by: str):
    """The object saved at `path`, loaded on the CPU; `written_by` completes "pass the file that …"."""
    path = Path(path)
    if not path.is_file():
        raise HwnasError(f"{path}: no such file: pass the file that {written_by}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike for a file that is not one
        raise HwnasError(f"{path}: not a readable checkpoint ({type(error).__name__}): pass the file that "
                         f"{written_by}") from None


def check_fits(network: nn.Module | dict[str, Tensor], saved: dict[str, Tensor], source: str, fix: str) -> None:
    """Raise one line when `saved` (a state dict) is not `network`'s: tensors missing, extra or of
    other shapes, counted, with the first one named."""
    expected = network.state_dict() if isinstance(network, nn.Module) else network
    if not (isinstance(saved, dict) and all(isinstance(value, Tensor) for value in saved.values())):
        raise HwnasError(f"{source} holds a {type(saved).__name__}, not a network's weights (a dict of tensors): {fix}")
    missing = [key for key in expected if key not in saved]
    extra = [key for key in saved if key not in expected]
    reshaped = [key for key in expected if key in saved and tuple(saved[key].shape) != tuple(expected[key].shape)]
    if not (missing or extra or reshaped):
        return
    if reshaped:
        key = reshaped[0]
        example = f"{key} is {tuple(saved[key].shape)} there, {tuple(expected[key].shape)} here"
    else:
        example = f"{(missing or extra)[0]} is {'missing' if missing else 'not in this network'}"
    raise HwnasError(f"{source} holds another network's weights ({len(reshaped)} tensors of other shapes, "
                     f"{len(missing)} missing, {len(extra)} extra; {example}): {fix}")
