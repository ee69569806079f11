"""The final check at the end of a search: the derived arch against the best of its window, trained.

The search's derive (derive/on_device.py) gives the most probable arch of the window, measured here when
the table is this machine's, and the window it was found in (the budget corrected by that measurement).
The final check draws a pool from the same window, keeps the best candidates (final_check/candidates.py;
the derived arch is always in the pool) and runs the contest (final_check/contest.py). A winner other than
the derived arch is measured too, where the derived one was: it is delivered if it measures inside
[floor · T, T] at the table's speed; else the derived arch is kept, and the record says why.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import pytorch_lightning as pl
import torch

from hwnas.data.modules import ImageDataModule
from hwnas.derive.on_device import measure_arch
from hwnas.final_check.candidates import pick_candidates, window_pool
from hwnas.final_check.contest import run_contest
from hwnas.latency.table import LatencyTable
from hwnas.measuring.device_identity import why_not_measured
from hwnas.net.arch import Arch
from hwnas.net.memory import MemoryCaps
from hwnas.net.supernet import SuperNet
from hwnas.records.arch_record import Provenance, in_window
from hwnas.records.search_checkpoint import DeriveSettings
from hwnas.scoring.subnet_eval import SubnetScorer

log = logging.getLogger(__name__)


def check_derived(derived: Arch, provenance: Provenance, supernet: SuperNet, table: LatencyTable, data: ImageDataModule,
                  settings: DeriveSettings, seed: int = 0, accelerator: str = "cpu",
                  caps: MemoryCaps = MemoryCaps(), callbacks: Sequence[pl.Callback] = ()) -> tuple[Arch, Provenance]:
    """The arch to deliver and its provenance, the contest recorded in it (module docstring); `callbacks` join
    the candidates' trainings."""
    chosen_try = next((t for t in provenance.tries if t.ops == derived.ops), None)
    low, high = chosen_try.window_ms if chosen_try else (provenance.floor * provenance.target_ms, provenance.target_ms)
    pool = window_pool(table, low, high, settings.final_check.pool, seed, caps, always=(derived,))
    with torch.enable_grad():  # a fit's end runs without gradients; the candidates train
        scorer = SubnetScorer.of_data(supernet, data)
        contest = run_contest(pick_candidates(pool, table, scorer, settings.final_check), data, settings.final_check,
                              seed, accelerator, callbacks)
    record = contest.to_json()
    if contest.winner == derived:
        return derived, replace(provenance, final_check=record)
    winner, why_not = contest.winner, why_not_measured(table, settings.measure)
    measured = None if why_not else measure_arch(winner, table)
    if measured is not None and not in_window(measured.at_table_speed_ms, provenance.floor, provenance.target_ms):
        record["kept_derived_because"] = (f"the winner measured {measured.at_table_speed_ms:.4f} ms at the table's "
                                          f"speed, outside [{provenance.floor} T, T]")
        log.info(f"final check: {record['kept_derived_because']}; keeping the derived arch")
        return derived, replace(provenance, final_check=record)
    return winner, replace(provenance, predicted_ms=table.predict_ms(winner), measurement=measured,
                           not_measured_because=why_not, final_check=record)
