"""How much of this machine a training process may take: cores that other processes are not using now.

Every process that takes all the cores' threads (torch's default) plus data-loader workers slows every
other one on a small machine far more than sharing would: two trainings on two cores ran ~9x slower each
than alone. So a training stage takes the cores the 1-minute load average leaves free (at least one),
for torch's threads and, beyond one, its data-loader workers; the command line says what it took on the
first line of a run, and --threads overrides it (training/stage_cli.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DISK_WORKERS = 4  # DataLoader workers at most, for data read from disk


@dataclass(frozen=True)
class CoreShare:
    cores: int  # usable by this process (its CPU affinity)
    load: float  # the 1-minute load average when the share was taken: what else runs
    threads: int  # torch's intra-op threads
    disk_workers: int  # data-loader workers for data read from disk

    def describe(self) -> str:
        return (f"{self.threads} torch thread(s), {self.disk_workers} data-loader worker(s) for data read from disk "
                f"({self.cores} cores, load {self.load:.1f})")


def free_share(threads: int | None = None, processes: int = 1) -> CoreShare:
    """The cores the load leaves free (at least one), shared among `processes` of one run (DDP ranks), as
    threads, the rest of them, if any, as workers; `threads` chosen by the user instead."""
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    free = max(1, (cores - round(load)) // processes)
    threads = threads or free
    return CoreShare(cores, load, threads, min(DISK_WORKERS, max(0, free - threads)))
