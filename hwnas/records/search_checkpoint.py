"""A trained supernet back from a search checkpoint, for `hwnas derive` and `hwnas select`.

The checkpoint is read with `torch.load(weights_only=True)` (tensors and plain values only:
safe to load from a stranger). The space comes from the definition the search embedded in it
(SearchModule.on_save_checkpoint), never from the YAML it was started with, which may have
been edited since; the table it names has an absolute path and the sha256 the file had then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.table import LatencyTable, load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.net.space import parse_space
from hwnas.net.supernet import SuperNet
from hwnas.records.arch_record import TableRef
from hwnas.search.module import CHECKPOINT_KEY
from hwnas.training.saved_state import check_fits, read_saved


@dataclass(frozen=True)
class SearchCheckpoint:
    supernet: SuperNet
    table: TableRef  # the table the search used: absolute path, content hash then, device
    hparams: dict  # the search's hyperparameters (target_ms, mode, …)
    path: Path

    def open_table(self, table_path: str | Path | None = None, log: Callable[[str], None] = print
                   ) -> tuple[LatencyTable, TableRef]:
        """The search's table, or `table_path` (e.g. another device's), and its TableRef;
        says in one line when it was measured on another device, or is the search's table but
        has changed since the search."""
        path = table_path or self.table.path
        table = load_table(path, self.supernet.space)
        ref = TableRef.of(path, table.device)
        for note in (describe_mismatch(str(path), table.device), self.table.changed_note(ref, "the search")):
            if note:
                log(note)
        return table, ref


def load_search_checkpoint(ckpt: str | Path) -> SearchCheckpoint:
    ckpt = Path(ckpt)
    checkpoint = read_saved(ckpt, "`hwnas search` wrote (RUN/search/checkpoints/last.ckpt)")
    embedded = checkpoint.get(CHECKPOINT_KEY) if isinstance(checkpoint, dict) else None
    if not isinstance(embedded, dict) or "state_dict" not in checkpoint:
        raise HwnasError(f"{ckpt}: not a checkpoint of this hwnas's `hwnas search` (no embedded space): "
                         f"search again")
    try:
        supernet = SuperNet(parse_space(embedded["space"], f"{ckpt} (embedded space)"))
        table = TableRef.from_json(embedded["table"])
    except (KeyError, TypeError, ValueError) as error:
        raise HwnasError(f"{ckpt}: its embedded search record is malformed ({type(error).__name__}: {error}): "
                         f"search again") from None
    prefix = "supernet."  # SearchModule.supernet
    state = {key[len(prefix):]: value for key, value in checkpoint["state_dict"].items() if key.startswith(prefix)}
    check_fits(supernet, state, str(ckpt), "its weights do not fit its own embedded space; search again")
    supernet.load_state_dict(state)
    return SearchCheckpoint(supernet, table, dict(checkpoint.get("hyper_parameters") or {}), ckpt)
