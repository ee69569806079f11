"""`hwnas predict`: what a table predicts for an arch, in ms, and how; rescaled to this minute on request.

With `now`, the table's reference subnet is timed here and the prediction multiplied by
reference(now) / reference(table): the figure to compare with a measurement made now on this machine,
whose speed moves ±25% within minutes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.table import load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.measuring.measure import reference_now_ms
from hwnas.net.arch import Arch

log = logging.getLogger(__name__)


def predict(arch: Arch, table_path: str | Path, now: bool = False) -> float:
    """The prediction in ms, logged with the table's method and device (and the reference timed now)."""
    table = load_table(table_path, arch.space)
    mismatch = describe_mismatch(str(table_path), table.device)
    if mismatch:
        log.info(mismatch)
    predicted = table.predict_ms(arch)
    if now and table.device.get("source") == "published":
        raise HwnasError(f"{table_path} holds published costs: its reference time is their sum, measured nowhere, so "
                         f"there is nothing to rescale to this machine's speed: predict without --now")
    if now:
        now_ms = reference_now_ms(table)
        log.info(f"reference subnet: {table.reference_ms:.4f} ms in the table, {now_ms:.4f} ms now")
        predicted *= table.rescale_factor(now_ms)
    log.info(f"{predicted:.4f} ms predicted ({table_path}: {table.method}; {table.device.kind}, "
             f"{table.device.threads} thread(s), {table.precision} models"
             f"{'; rescaled by the reference timed now' if now else ''})")
    return predicted
