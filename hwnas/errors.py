"""The one base class of errors a user can fix; `hwnas` prints them as one line, no traceback."""


class HwnasError(ValueError):
    """What was wrong and what to do about it, in one line."""
