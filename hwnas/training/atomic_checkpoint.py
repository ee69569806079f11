"""Checkpoints written whole or not at all.

Lightning's own writer opens `last.ckpt` and writes into it, so a full disk or a kill in the
middle leaves a truncated file where the previous good checkpoint was, and resume, derive and
select then read half a file. This writer saves to a temporary file beside it and renames it
into place: a reader finds the previous checkpoint or the new one, never part of one.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO

from hwnas.files.atomic import atomic_output


MIN_FREE_BYTES = 16 * 2**20  # less free space than this after a failed write: the disk filled up


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        with atomic_output(path) as temporary:
            try:
                torch.save(checkpoint, temporary)
            except OSError as error:  # name the checkpoint, not the temporary file that is removed
                raise OSError(error.errno, error.strerror, str(path)) from error
            except RuntimeError as error:  # torch's zip writer reports a failed write so, a full disk among them
                if "write" not in str(error).lower():
                    raise
                full = shutil.disk_usage(Path(temporary).parent).free < MIN_FREE_BYTES
                raise OSError(errno.ENOSPC if full else errno.EIO, "No space left on device" if full else
                              "writing the checkpoint failed", str(path)) from error
