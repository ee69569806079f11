"""The one base class of errors a user can fix (`hwnas` prints them as one line, no traceback), and how a stop
by a signal reaches the command line: Interrupted, Terminated and the SIGTERM handler."""

from __future__ import annotations

import os
import threading

REDELIVER_S = 0.05  # an import finishes within this, or the signal is deferred again


class HwnasError(ValueError):
    """What was wrong and what to do about it, in one line."""


class Interrupted(Exception):
    """A stage stopped by a signal before it finished: one line saying how to resume, and a non-zero
    exit (128 + the signal's number, as a shell reports it)."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class Terminated(BaseException):
    """SIGTERM, raised where the program is when it arrives (as Ctrl-C's KeyboardInterrupt is), so that every
    `finally` on the way out runs: temporary folders and half-written outputs are removed."""


def raise_terminated(signum, frame) -> None:
    """The SIGTERM handler the command line installs. A signal that arrives while a module is being imported
    comes again REDELIVER_S later instead: an exception raised inside a C extension's initialisation (onnx's,
    imported by the first ONNX export) leaves it half built and the interpreter dies of a segmentation fault,
    without the one line and without the `finally` blocks that remove temporary folders."""
    if _importing(frame):
        again = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signum))
        again.daemon = True
        again.start()
        return
    raise Terminated()


def _importing(frame) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
