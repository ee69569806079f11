"""`hwnas import-table`: a table measured elsewhere, as an hwnas table at `--out`.

Two things come back from elsewhere: a kit's results.json (kit.py: entries, reference and calibration
subnets timed on the device, which name their space) and a published per-layer table (published.py:
a paper's lookup table, which names no hwnas space, so `--space` says which one it prices). Either is
written only if the table loads back: the file may come from a stranger.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.files.atomic import atomic_output
from hwnas.files.strict import read_json
from hwnas.latency.table import LatencyTable, TableError, load_table, save_table
from hwnas.net.space import load_space
from hwnas.profile.current import check_table_out, describe
from hwnas.profile.kit import check_results, import_results, is_results
from hwnas.profile.published import published_table

log = logging.getLogger(__name__)


class TableImportError(HwnasError):
    pass


def import_table(path: str, out: str, space_path: str | None = None) -> LatencyTable:
    """The table in `path` (a kit's results, or a published table of the space at `space_path`) written to `out`."""
    check_table_out(out, "NAME.json")
    data = read_json(path, error=TableImportError, missing="no such file (a kit's results.json, or a published "
                     "per-layer table: docs/published_tables.md)", redo="bring the file back again",
                     non_finite_ok=True)  # every number is checked where it is read
    if is_results(data):
        if space_path is not None:
            raise TableImportError(f"{path} is a kit's results, which carry their space: drop --space")
        table = import_results(check_results(data, path), path)
    elif space_path is None:
        raise TableImportError(f"{path} is not a kit's results; a published per-layer table names no hwnas space: pass "
                           f"the space it was measured for (--space recipes/spaces/<space>.yaml)")
    else:
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        table = published_table(data, load_space(space_path), path, digest)
    with atomic_output(out) as temporary:
        save_table(table, temporary)
        try:
            load_table(temporary)
        except TableError as error:
            reason = str(error).split(": ", 1)[1].rsplit(": re-run", 1)[0]  # not the temporary file's name
            raise TableImportError(f"{path}: this makes a table nothing could load ({reason}): bring the file back "
                                   f"again") from None
    log.info(describe(table, out))
    return table
