"""How much of this machine a training process may take: cores that other processes are not using now.

Every process that takes all the cores' threads (torch's default) plus data-loader workers slows every
other one on a small machine far more than sharing would (BENCHMARKS.md, "Two trainings on one
machine"). So a training stage takes the cores that other work leaves free (at least one), for torch's
threads and, beyond one, its data-loader workers; the command line says what it took on the first line
of a run, and --threads overrides it (training/stage_cli.py). Other work is the 1-minute load average,
or the tasks runnable right now where they are more: the average takes a minute to see a process that
has just started, such as a second training started beside this one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DISK_WORKERS = 4  # DataLoader workers at most, for data read from disk


@dataclass(frozen=True)
class CoreShare:
    cores: int  # usable by this process (its CPU affinity)
    load: float  # busy_cores() when the share was taken: what else runs
    threads: int  # torch's intra-op threads
    disk_workers: int  # data-loader workers for data read from disk

    def describe(self) -> str:
        return (f"{self.threads} torch thread(s), {self.disk_workers} data-loader worker(s) for data read from disk "
                f"({self.cores} cores, load {self.load:.1f})")


def runnable_now() -> int:
    """Tasks runnable on this machine at this instant, this process's own thread among them (Linux's
    /proc/loadavg; 0 where there is none)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0


def busy_cores() -> float:
    """Cores other work occupies: the 1-minute load average, or the tasks runnable now besides this one."""
    return max(os.getloadavg()[0], runnable_now() - 1)


def free_share(threads: int | None = None, processes: int = 1) -> CoreShare:
    """The cores the load leaves free (at least one), shared among `processes` of one run (DDP ranks), as
    threads, the rest of them, if any, as workers; `threads` chosen by the user instead."""
    cores = len(os.sched_getaffinity(0))
    load = busy_cores()
    free = max(1, (cores - round(load)) // processes)
    threads = threads or free
    return CoreShare(cores, load, threads, min(DISK_WORKERS, max(0, free - threads)))
