"""A trained supernet back from a search checkpoint, for `hwnas derive` and `hwnas select`.

The checkpoint is read with `torch.load(weights_only=True)` (tensors and plain values only:
safe to load from a stranger). The space comes from the definition the search embedded in it
(SearchModule.on_save_checkpoint), never from the YAML it was started with, which may have
been edited since; the table it names has an absolute path and the sha256 the file had then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from hwnas.errors import HwnasError
from hwnas.search import CHECKPOINT_KEY
from hwnas.space import parse_space
from hwnas.supernet import SuperNet


@dataclass(frozen=True)
class SearchCheckpoint:
    supernet: SuperNet
    table_path: str  # absolute path of the table the search used
    table_sha256: str  # …and its content hash then
    hparams: dict  # the search's hyperparameters (target_ms, mode, …)
    path: Path

    def table_changed_note(self, table_path: str | Path) -> str | None:
        """One line when `table_path` is the search's table but its content changed since."""
        path = Path(table_path)
        if str(path.resolve()) != self.table_path or not path.is_file():
            return None
        if hashlib.sha256(path.read_bytes()).hexdigest() == self.table_sha256:
            return None
        return (f"note: {table_path} changed since the search (re-profiled?): the supernet was searched "
                f"with the earlier table's costs")


def load_search_checkpoint(ckpt: str | Path) -> SearchCheckpoint:
    ckpt = Path(ckpt)
    if not ckpt.is_file():
        raise HwnasError(f"{ckpt}: no such checkpoint (a search run writes RUN/search/checkpoints/last.ckpt)")
    try:
        checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike for a file that is not one
        raise HwnasError(f"{ckpt}: not a readable checkpoint ({type(error).__name__}): pass the "
                         f"last.ckpt that `hwnas search` wrote") from None
    embedded = checkpoint.get(CHECKPOINT_KEY) if isinstance(checkpoint, dict) else None
    if not isinstance(embedded, dict) or "state_dict" not in checkpoint:
        raise HwnasError(f"{ckpt}: not a checkpoint of this hwnas's `hwnas search` (no embedded space): "
                         f"search again")
    try:
        supernet = SuperNet(parse_space(embedded["space"], f"{ckpt} (embedded space)"))
        table_path, table_sha256 = str(embedded["table"]["path"]), str(embedded["table"]["sha256"])
    except (KeyError, TypeError) as error:
        raise HwnasError(f"{ckpt}: its embedded search record is malformed ({type(error).__name__}: {error}): "
                         f"search again") from None
    prefix = "supernet."  # SearchModule.supernet
    state = {key[len(prefix):]: value for key, value in checkpoint["state_dict"].items() if key.startswith(prefix)}
    try:
        supernet.load_state_dict(state)
    except RuntimeError as error:
        raise HwnasError(f"{ckpt}: its weights do not fit its embedded space: {str(error).splitlines()[0]}") from None
    return SearchCheckpoint(supernet, table_path, table_sha256, dict(checkpoint.get("hyper_parameters") or {}), ckpt)
