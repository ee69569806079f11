"""`hwnas derive`: the most probable arch of a searched supernet inside another budget, or on another
device's table, without searching again.

It reads the search's checkpoint (records/search_checkpoint.py) and derives as the search did at its
end (derive/on_device.py), with the search's floor unless told otherwise. A search that trained no
alphas (one-shot only) is refused: its most probable arch would be their initial noise.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hwnas.derive.on_device import derive_for_target
from hwnas.errors import HwnasError
from hwnas.files.atomic import check_writable
from hwnas.net.memory import MemoryCaps
from hwnas.records.arch_record import ArchRecord
from hwnas.latency.objective import check_target_ms
from hwnas.records.run_folder import RunFolder
from hwnas.records.search_checkpoint import load_search_checkpoint

log = logging.getLogger(__name__)


def run_derive(ckpt: str, target_ms: float, table: str | None = None, floor: float | None = None,
               measure: bool = True, out: str | None = None, caps: MemoryCaps = MemoryCaps()) -> ArchRecord:
    """Derive for `target_ms` (ms) on the search's table or `table`; writes OUT/arch.json (default: the
    run folder's `derive` beside the search) and returns its record."""
    check_target_ms(target_ms)
    checkpoint = load_search_checkpoint(ckpt)
    if not checkpoint.settings.trains_alphas:
        raise HwnasError(f"{ckpt} is a one-shot-only search: its alphas never trained, so the most probable arch "
                         f"would be noise; choose from the supernet with `hwnas select --ckpt {ckpt} --target_ms "
                         f"{target_ms}`")
    floor = checkpoint.settings.derive.floor if floor is None else floor
    if not 0 <= floor < 1:
        raise HwnasError(f"--floor is the share of the target the arch must reach, in [0, 1): got {floor}")
    out = Path(out) if out else RunFolder.of_checkpoint(ckpt).beside("derive")
    check_writable(out, folder=True)
    check_writable(out / "arch.json")
    latency_table = checkpoint.open_table(table)
    arch, provenance = derive_for_target(checkpoint.supernet.probabilities(), latency_table, target_ms, floor,
                                         measure, stage="derive", checkpoint=str(Path(ckpt).resolve()), caps=caps)
    record = ArchRecord(arch, provenance)
    record.save(out / "arch.json")
    measured = provenance.measurement
    log.info(f"derived {', '.join(arch.ops)}: predicted {provenance.predicted_ms:.4f} ms, "
             + (f"measured {measured.at_table_speed_ms:.4f} ms at the table's speed ({measured.median_ms:.4f} ms raw)"
                if measured else f"not measured: {provenance.not_measured_because}")
             + f" (target {target_ms} ms); wrote {out}/arch.json")
    return record
