"""Is a table file already this machine's table? The question behind every `--skip_if_current`.

A table is current when it loads for the space, was measured for the device kind, threads and
precision asked, on a machine whose identity is this one's (measuring/device_identity.py), and its
reference subnet runs here within REFERENCE_TOLERANCE of its recorded time (two machines that report
the same CPU name can run at different speeds: docs/latency.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.files.atomic import check_writable
from hwnas.latency.table import LatencyTable, TableError, load_table
from hwnas.measuring.device_identity import differences_from_here, speed_mismatch
from hwnas.measuring.measure import reference_now_ms
from hwnas.net.space import SearchSpace

log = logging.getLogger(__name__)


def why_not_current(path: str | Path, space: SearchSpace, kind: str, threads: int, precision: str) -> str | None:
    """Why the table at `path` is not this machine's table of `space` for kind/threads/precision
    (None: it is)."""
    try:
        table = load_table(path, space)
    except TableError as error:
        return str(error)
    asked = {"kind": kind, "threads": threads, "precision": precision}
    wrong = [f"{name} {table.device.get(name)!r} (asked {value!r})" for name, value in asked.items()
             if table.device.get(name) != value]
    if wrong:
        return f"it was measured for {'; '.join(wrong)}"
    differences = differences_from_here(table.device)
    if differences:
        return f"it was measured on another device: {'; '.join(differences)}"
    return speed_mismatch(table.reference_ms, reference_now_ms(table))


def check_table_out(out: str | Path, example_name: str) -> None:
    """A table file can be written at `out`; one line before any work when it cannot."""
    if Path(out).is_dir():
        raise HwnasError(f"--out {out} is a folder: name the table file to write, e.g. {out}/{example_name}")
    check_writable(out)


def describe(table: LatencyTable, path: str | Path) -> str:
    fastest, slowest = table.latency_range_ms()
    how = "published elsewhere" if table.device.get("source") == "published" else f"timed as {table.precision} models"
    return (f"wrote {path}: {len(table.entries)} entries, {how}; archs of space "
            f"{table.space.name} span {fastest:.3f}-{slowest:.3f} ms ({table.method})")
