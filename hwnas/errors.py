"""The one base class of errors a user can fix; `hwnas` prints them as one line, no traceback."""


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
    """The SIGTERM handler the command line installs."""
    raise Terminated()
