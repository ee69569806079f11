"""Which latency table a record refers to: its absolute path, what it predicts with, and its device.

A record (arch.json, a search checkpoint, a model card) keeps the TableRef of the table it was
made with, so a later stage can tell when the same file now holds other costs. The hash is over
the table's content as parsed, without its "fidelity" report: `hwnas validate-table` writes that
report into the table, which changes no prediction and so is no change to the table.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from hwnas.latency.device import Device


def prediction_hash(content: dict) -> str:
    """sha256 of a table file's parsed content without its "fidelity" report."""
    kept = {key: value for key, value in content.items() if key != "fidelity"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class TableRef:
    path: str  # absolute
    sha256: str  # prediction_hash of the content when the record was made
    device: Device

    def to_json(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "device": self.device.to_json()}

    @classmethod
    def from_json(cls, data: dict) -> TableRef:
        return cls(str(data["path"]), str(data["sha256"]), Device.from_json(data["device"]))

    def changed_note(self, now: TableRef, since: str) -> str | None:
        """One line when `now` is this table's file with other content (re-profiled or edited since
        `since`, e.g. "the search"): predictions made now are the new content's."""
        if now.path != self.path or now.sha256 == self.sha256:
            return None
        return (f"note: {now.path} changed since {since} (re-profiled or edited: its sha256 differs): predictions "
                f"now are the new table's, not the costs the arch was chosen with")
