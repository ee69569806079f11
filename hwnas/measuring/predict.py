"""`hwnas predict`: what a table predicts for an arch, in ms, and how; rescaled to this minute on request.

With `now`, the table's anchors nearest the prediction are timed here (measure.speed_now) and the
prediction multiplied by their speed now against the table's: the figure to compare with a raw
measurement made now on this machine, whose speed moves ±25% within minutes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.table import load_table
from hwnas.measuring.device_identity import describe_mismatch
from hwnas.measuring.measure import speed_now
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
        slower = speed_now(table, predicted)
        log.info(f"the table's subnets nearest {predicted:.4f} ms run {slower:.3f}x their table time now")
        predicted *= slower
    log.info(f"{predicted:.4f} ms predicted ({table_path}: {table.method}; {table.device.kind}, "
             f"{table.device.threads} thread(s), {table.precision} models"
             f"{'; rescaled to the speed of its nearest subnets now' if now else ''})")
    return predicted
