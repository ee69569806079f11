"""A stage's run folder: where each output lives, written by one stage at a time, never showing a
previous run's record as this one's.

    RUN_DIR/arch.json  search.json  subnet.pt  retrain.json   the stage's records (training/stage_records.py)
    RUN_DIR/checkpoints/last.ckpt  logs/config.yaml  plots/   Lightning's state, the resolved config
    RUN_DIR/../derive  ../select  ../export                   what later stages write beside it

    RUN_DIR/.lock                 held (flock) while a stage writes the folder: a second writer is
                                  refused in one line instead of interleaving its files with ours
    RUN_DIR/previous-<UTC time>/  what an earlier run left that this one would replace: its records
                                  (arch.json, search.json, subnet.pt, retrain.json) and, unless this
                                  run resumes from them, its checkpoints, logs and plots

Records are written once the stage has finished; a stage that is interrupted (SIGTERM, Ctrl-C)
exits non-zero and leaves no record, so `search && retrain` cannot carry on with a stale arch.
Only the launching process (rank 0) locks and tidies: DDP's other ranks re-run the command, and
are told apart from a shell that merely has LOCAL_RANK set by a mark the launching process leaves in
the environment its ranks inherit (`ddp_rank`).
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hwnas.errors import HwnasError

log = logging.getLogger(__name__)
RECORDS = ("arch.json", "search.json", "subnet.pt", "retrain.json")
RUN_STATE = ("checkpoints", "logs", "plots")  # kept when the run resumes from its own checkpoint
LOGS = "logs"


@dataclass(frozen=True)
class RunFolder:
    """The one place that knows where a stage's outputs live (a search's or a retrain's RUN_DIR)."""
    path: Path

    @classmethod
    def of_checkpoint(cls, checkpoint: str | Path) -> RunFolder:
        """The run folder a checkpoint was written in: RUN/search/checkpoints/last.ckpt → RUN/search; a
        checkpoint anywhere else (copied out, received) is its own folder's."""
        folder = Path(checkpoint).resolve().parent
        return cls(folder.parent if folder.name == RUN_STATE[0] else folder)

    arch = property(lambda self: self.path / RECORDS[0])
    search_summary = property(lambda self: self.path / RECORDS[1])
    weights = property(lambda self: self.path / RECORDS[2])
    retrain_summary = property(lambda self: self.path / RECORDS[3])
    config = property(lambda self: self.path / LOGS / "config.yaml")  # LightningCLI's resolved config
    checkpoints = property(lambda self: self.path / RUN_STATE[0])
    last_checkpoint = property(lambda self: self.checkpoints / "last.ckpt")

    def beside(self, stage: str) -> Path:
        """Where a later stage writes by default: RUN/search → RUN/derive, RUN/select; RUN/retrain → RUN/export.
        A run folder not named after its stage gets its own: runs/a → runs/a-derive (runs/a and runs/b
        shared runs/derive)."""
        conventional = self.path.name in ("search", "retrain")
        return self.path.parent / (stage if conventional else f"{self.path.name}-{stage}")


class RunFolderBusy(HwnasError):
    pass


LAUNCHER_MARK = "HWNAS_DDP_LAUNCHER"  # the launching process's pid, set while it holds the run folder


def ddp_rank() -> bool:
    """Whether this process is not the one that holds the run folder: a rank that an hwnas stage's DDP
    launcher started (Lightning sets LOCAL_RANK; the rank inherits the launcher's mark, and the launcher
    is its parent), or the launcher of another node (NODE_RANK > 0; node 0 holds the folder). A LOCAL_RANK
    set in the shell without the mark is refused in one line: Lightning would take this process for a
    rank > 0 and the run would write no record."""
    local_rank = os.environ.get("LOCAL_RANK", "0")
    if local_rank != "0":
        if os.environ.get(LAUNCHER_MARK) == str(os.getppid()):
            return True
        raise HwnasError(f"LOCAL_RANK={local_rank} is set in the environment, as a DDP launcher sets it for the "
                         f"processes it starts: hwnas starts its own ranks (--trainer.devices N); unset LOCAL_RANK "
                         f"and run again")
    return os.environ.get("NODE_RANK", "0") != "0"


@contextmanager
def writing(run_dir: str | Path, resuming: bool) -> Iterator[None]:
    """Hold `run_dir`'s lock for the block, after moving aside what an earlier run left there."""
    if ddp_rank():
        yield
        return
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = _open_lock(run_dir / ".lock")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderBusy(f"{run_dir} is being written by another hwnas process: wait for it to finish, "
                                f"or choose another --run_dir") from None
        os.environ[LAUNCHER_MARK] = str(os.getpid())  # inherited by the DDP ranks Lightning starts
        try:
            _move_previous_aside(run_dir, resuming)
            yield
        finally:
            os.environ.pop(LAUNCHER_MARK, None)
            fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        os.close(lock)


def _open_lock(path: Path) -> int:
    """The lock file's descriptor, never through a link: opening a link with truncation emptied the
    file it pointed to (a run folder received from someone else can hold one). Nothing is written to it."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise HwnasError(f"{path} is a symbolic link, not this run folder's lock: remove it (the file it points "
                             f"to is left alone) and run again") from None
        raise


def _move_previous_aside(run_dir: Path, resuming: bool) -> None:
    names = RECORDS if resuming else RECORDS + RUN_STATE
    previous = [name for name in names if (run_dir / name).exists()]
    if not previous:
        return
    aside = run_dir / f"previous-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S.%fZ')}"
    aside.mkdir()
    for name in previous:
        os.replace(run_dir / name, aside / name)
    log.info(f"{run_dir} held an earlier run's {', '.join(previous)}: moved to {aside}")
