"""How much of this machine a training process may take: cores that other processes are not using now.

Every process that takes all the cores' threads (torch's default) plus data-loader workers slows every
other one on a small machine far more than sharing would (BENCHMARKS.md, "Two trainings on one
machine"). So a training stage takes the cores that other work leaves free (at least one) for torch's
threads, and the free cores --threads leaves, if any, for data-loader workers of data read from disk; the
command line says what it took on the first line of a run (training/stage_cli.py). Two trainings started in the same second
each find the cores idle and take them all, so a run looks again while it trains and follows what is
free (training/core_follower.py). Other work is what runs now: the tasks runnable on the machine less
this process's own, the median of a few looks over a tenth of a second. The 1-minute load average would
lag a minute behind both a training started beside this one and one that has just ended, so it is the
fallback only where the system does not count runnable tasks.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

DISK_WORKERS = 4  # DataLoader workers at most, for data read from disk
LOOKS = 9  # counts of runnable tasks taken, LOOK_INTERVAL_S apart: a brief spike is not a busy core; odd, so
# that their median is a count seen, not a half to round
LOOK_INTERVAL_S = 0.01


@dataclass(frozen=True)
class CoreShare:
    cores: int  # usable by this process (its CPU affinity)
    load: float  # busy_cores() when the share was taken: what else runs
    threads: int  # torch's intra-op threads
    disk_workers: int  # data-loader workers for data read from disk

    def describe(self) -> str:
        return (f"{self.threads} torch thread(s), {self.disk_workers} data-loader worker(s) for data read from disk "
                f"({self.cores} cores, load {self.load:.1f})")


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system has one (Linux), else the count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def others_runnable_now() -> int | None:
    """Tasks runnable on this machine at this instant less this process's own; None where the system does not
    count them. The two counts are read a moment apart, hence the floor at 0."""
    machine = machine_runnable_now()
    return None if machine is None else max(0, machine - own_runnable_threads())


def machine_runnable_now() -> int | None:
    """Tasks running or runnable on this machine at this instant (Linux's /proc/loadavg), None where there is none."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


def own_runnable_threads() -> int:
    """This process's threads running or runnable now (its torch threads mid-step, say): at least the one asking."""
    return max(1, sum(_state(task) == "R" for task in Path("/proc/self/task").glob("*")))


def _state(task: Path) -> str:
    """A thread's scheduler state letter ('R': running or runnable), '' for one that has just ended."""
    try:
        return state_in_stat((task / "stat").read_text())
    except OSError:
        return ""


def state_in_stat(stat: str) -> str:
    """The state letter of a /proc/.../stat line ("pid (name) state ..."), '' for a malformed one: the name in
    parentheses may hold spaces and parentheses of its own, so the state follows the last ')'."""
    fields = stat.rsplit(")", 1)[-1].split() if ")" in stat else []
    return fields[0] if fields else ""


def busy_cores() -> float:
    """Cores other work occupies now: the median of LOOKS counts of the tasks runnable besides this
    process's; the 1-minute load average where the system does not count them."""
    counts = []
    for _ in range(LOOKS):
        others = others_runnable_now()
        if others is None:
            return os.getloadavg()[0]
        counts.append(others)
        time.sleep(LOOK_INTERVAL_S)
    return max(0.0, statistics.median(counts))


def free_share(threads: int | None = None, processes: int = 1) -> CoreShare:
    """The cores the load leaves free (at least one), shared among `processes` of one run (DDP ranks), as
    threads, the rest of them, if any, as workers; `threads` chosen by the user instead."""
    cores = usable_cores()
    load = busy_cores()
    free = max(1, (cores - round(load)) // processes)
    threads = threads or free
    return CoreShare(cores, load, threads, min(DISK_WORKERS, max(0, free - threads)))
