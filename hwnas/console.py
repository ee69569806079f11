"""How hwnas talks to the user: its own lines on stdout, errors in one line, third-party notices filtered.

The library logs to the "hwnas" logger (each module to its child, logging.getLogger(__name__)) and never
configures logging itself; `configure_output`, called by the command line's `main`, decides what is shown.
"""

from __future__ import annotations

import logging
import sys
import warnings

log = logging.getLogger("hwnas")


class _StdoutNow(logging.StreamHandler):
    """Writes to whatever sys.stdout is when a line is logged (pytest and notebooks replace it)."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


class _NotForUsers(logging.Filter):
    """Lightning's advertisement for its cloud logger, its notices at every Trainer's start and end (which
    accelerators exist, the seed, the epoch limit reached: the final check starts a Trainer per candidate)
    and that a module's own record callback replaces the one registered for the fit, and ONNX Runtime's
    quantizer notes (logged on the root logger) below errors: about those libraries, not the user's run."""

    LIGHTNING = ("litlogger", "available: ", "Seed set to", "`Trainer.fit` stopped", "passed to Trainer: RetrainRecord",
                 "to estimate number of stepping batches")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        quantizer = "onnxruntime" in record.pathname and "quantization" in record.pathname
        return not (any(notice in message for notice in self.LIGHTNING) or (quantizer and record.levelno < logging.ERROR))


def configure_output() -> None:
    """hwnas's lines on stdout, plain; the third-party notices above filtered out (set once per call)."""
    log.handlers = [_StdoutNow()]
    log.setLevel(logging.INFO)
    log.propagate = False
    # The loggers those notices come from (a filter acts on its own logger's records; these loggers exist
    # before Lightning is imported, which main leaves to the commands that train).
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero",
                 "lightning_fabric.utilities.seed", ""):
        logger = logging.getLogger(name)
        logger.filters = [f for f in logger.filters if not isinstance(f, _NotForUsers)] + [_NotForUsers()]
    # Lightning 2.x builds torch's deprecated LeafSpec on every batch, and warns that a module's batch hook
    # (training/channels_last.py) takes precedence over the data module's, which is the intent.
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message="You have overridden `on_after_batch_transfer` in `LightningModule`")
    # The final check fits each candidate without a validation loader and scores it after the fit.
    warnings.filterwarnings("ignore", message="You defined a `validation_step` but have no `val_dataloader`")


def one_line(error: Exception) -> str:
    """The error's message. A DataLoader worker re-raises a dataset's error as the same type whose
    message is the worker's whole traceback ("Caught DataError in DataLoader worker process 0. …"),
    ending in "module.Type: message": the last line is the message."""
    lines = str(error).strip().splitlines()
    if len(lines) > 1 and lines[0].startswith("Caught "):
        return lines[-1].split(": ", 1)[-1]
    return " ".join(lines)


def current_spellings(argv: list[str]) -> list[str]:
    """--target-ms → --target_ms (one line each): the earlier release's spellings, for one release more."""
    spelled = []
    for arg in argv:
        name, equals, value = arg.partition("=")
        if name.startswith("--") and "-" in name[2:]:
            log.info(f"note: {name} is spelled {name[:2] + name[2:].replace('-', '_')} now, as in the recipes; "
                     f"{name} goes in the next release")
            arg = name[:2] + name[2:].replace("-", "_") + equals + value
        spelled.append(arg)
    return spelled
