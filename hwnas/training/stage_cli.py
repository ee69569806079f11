"""The LightningCLI of a training stage (`hwnas search`, `hwnas retrain`): one run folder each.

    RUN_DIR/logs/            CSV metrics (kept across a resume) and the resolved config.yaml
    RUN_DIR/checkpoints/     last.ckpt, written whole or not at all (resume with --ckpt_path)
    RUN_DIR/arch.json, …     the stage's records, written by the module's own callback
                             (search/record.py, retrain/record.py), so a plain Trainer writes them too
    RUN_DIR/.lock, previous-*/   one writer at a time; an earlier run's records moved aside (records/run_folder.py)

A stage subclasses `StageCLI` with its name and where its space comes from (search/cli.py,
retrain/cli.py); the data module's input resolution and channels are linked from that space, so
they cannot disagree with the network. Only rank 0 writes the run's files.
"""

from __future__ import annotations

import logging
import signal
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from jsonargparse import ArgumentError
from lightning_fabric.utilities.exceptions import MisconfigurationException
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.cli import LightningArgumentParser, LightningCLI
from pytorch_lightning.utilities.exceptions import SIGTERMException

from hwnas.data import ImageDataModule
from hwnas.data.cores import free_share, usable_cores
from hwnas.errors import HwnasError, Interrupted
from hwnas.files.atomic import check_writable
from hwnas.files.saved_state import check_fits, read_saved
from hwnas.files.strict import read_yaml
from hwnas.records import run_folder
from hwnas.records.run_folder import RunFolder
from hwnas.training.atomic_checkpoint import AtomicCheckpointIO
from hwnas.training.core_follower import CoreFollower
from hwnas.training.epoch_lines import EpochLines, output_is_a_terminal
from hwnas.training.resumed_metrics import ResumedCSVLogger

log = logging.getLogger(__name__)
LINKED_FROM_SPACE = ("resolution", "channels")  # data.init_args fields set from the space (link_arguments)
LIGHTNING_CKPT_NAMES = ("last", "best", "hpc", "registry")  # --ckpt_path values Lightning resolves to a file itself


def _refuse_fields(args: list[str], renamed: dict[str, str]) -> None:
    """Fields the stage sets itself or no longer reads, given on the command line or in a --config recipe:
    the data's resolution and channels (the link from the space would overwrite them without a word:
    `channels: 3` on a 1-channel space), and the model fields of an earlier release (`renamed`: old name →
    what replaced it), each said in one line."""
    given = [(arg.split("=")[0], arg.split("=")[0].removeprefix("--").replace(".init_args.", "."))
             for arg in args if arg.startswith("--")]
    recipes = [value for flag, value in zip(args, args[1:]) if flag in ("--config", "-c")]
    recipes += [arg.split("=", 1)[1] for arg in args if arg.startswith(("--config=", "-c="))]
    for recipe in recipes:  # read strictly (files/strict.py): LightningCLI's reader keeps a duplicate key's last value
        content = read_yaml(recipe, missing="no such recipe", redo="fix the recipe (the shipped ones are in recipes/)")
        for group in ("data", "model"):
            fields = content.get(group) if isinstance(content, dict) else None
            fields = fields if isinstance(fields, dict) else {}
            init_args = fields.get("init_args") if isinstance(fields.get("init_args"), dict) else {}
            given += [(f"{recipe}: {group}.{name}", f"{group}.{name}") for name in fields]
            given += [(f"{recipe}: {group}.init_args.{name}", f"{group}.{name}") for name in init_args]
    for where, field in given:
        if field.split(".")[-1] in LINKED_FROM_SPACE and field.startswith("data."):
            raise HwnasError(f"{where}: the data's resolution and channels come from the space (its `input:`), "
                             f"so that data and network agree: remove it and edit the space file instead")
        if field.startswith("model.") and field.removeprefix("model.") in renamed:
            raise HwnasError(f"{where} is now {renamed[field.removeprefix('model.')]} (recipes/search_demo.yaml "
                             f"shows every field)")


class StageCLI(LightningCLI):
    """LightningCLI whose logs and checkpoints go to --run_dir."""

    stage: str  # "search" or "retrain"
    space_source: str  # the argument the input shape is read from
    renamed: dict[str, str] = {}  # model fields of an earlier release → their replacement

    @staticmethod
    def space_of(source: str):
        raise NotImplementedError

    def parse_arguments(self, parser: LightningArgumentParser, args) -> None:
        _refuse_fields(args or [], self.renamed)
        # hwnas passes the stage's arguments as `args` while sys.argv still holds them: Lightning
        # warns about that on every run, though it is how hwnas means it.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
            super().parse_arguments(parser, args)
        if not str(self.config.get("run_dir") or "").strip():  # "" spread the run's files over the current folder
            raise HwnasError("--run_dir is empty: name the folder this run writes into, e.g. runs/mine/" + self.stage)
        seed = self.config.get("seed_everything")
        if isinstance(seed, int) and not isinstance(seed, bool) and not 0 <= seed < 2**32:
            raise HwnasError(f"--seed_everything is an integer in [0, 2^32), got {seed}")  # numpy's bound

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--run_dir", type=str, default=f"runs/{self.stage}", help="where this run writes")
        parser.add_argument("--ckpt_path", type=str | None, default=None, help="checkpoint to resume from")
        parser.add_argument("--threads", type=int | None, default=None,
                            help="torch threads (default: the cores the machine's load leaves free, data/cores.py)")
        parser.link_arguments(self.space_source, "data.init_args.resolution",
                              compute_fn=lambda source: self.space_of(source).resolution)
        parser.link_arguments(self.space_source, "data.init_args.channels",
                              compute_fn=lambda source: self.space_of(source).in_channels)  # LINKED_FROM_SPACE

    def instantiate_trainer(self, **kwargs):
        run_dir = Path(self.config_init["run_dir"])
        callbacks = list(self.config_init["trainer"].get("callbacks") or [])
        # last.ckpt written whole each epoch (AtomicCheckpointIO). No version counter: a re-run into
        # the same run_dir overwrites last.ckpt rather than writing last-v1.ckpt next to a stale
        # last.ckpt that `select` and resume would pick up.
        self.run_checkpoint = ModelCheckpoint(dirpath=RunFolder(run_dir).checkpoints, save_last=True,
                                              enable_version_counter=False)
        callbacks.append(self.run_checkpoint)
        plugins = self.config_init["trainer"].get("plugins") or []
        plugins = [*(plugins if isinstance(plugins, list) else [plugins]), AtomicCheckpointIO()]
        if self.config_init["threads"] is None:
            callbacks.append(CoreFollower())
        if not output_is_a_terminal():  # a log file: one line per epoch instead of the redrawn bar
            callbacks.append(EpochLines())
            kwargs["enable_progress_bar"] = False
        ckpt_path = self.config_init["ckpt_path"]
        resumed_from = None if ckpt_path is None else RunFolder(run_dir).last_checkpoint if ckpt_path == "last" \
            else Path(ckpt_path)
        return super().instantiate_trainer(
            default_root_dir=str(run_dir), logger=ResumedCSVLogger(run_dir, name=run_folder.LOGS, version="",
                                                                   resumed_from=resumed_from),
            callbacks=callbacks, plugins=plugins, **kwargs)


def _cli(cli_class: type[StageCLI], model_class, args: list[str]) -> StageCLI:
    """The stage's LightningCLI. A parse error raises instead of printing the ~55-line usage
    (kept for --help) before its message: the message is what the user needs, in one line."""
    try:
        return cli_class(model_class, ImageDataModule, subclass_mode_data=True, run=False, args=args,
                         save_config_kwargs={"overwrite": True}, seed_everything_default=0,
                         parser_kwargs={"exit_on_error": False})
    except MisconfigurationException as error:  # Lightning's own checks of the trainer's settings
        raise HwnasError(f"{str(error).strip().splitlines()[0]} (a --trainer.* option)") from None
    except ValueError as error:  # a part's own check, wrapped by jsonargparse in its list of the types it tried
        if isinstance(error.__cause__, HwnasError):
            raise error.__cause__ from None
        raise
    except ArgumentError as error:
        if "Call to compute_fn of link" in str(error):  # the space could not be read from its source: its own line
            raise HwnasError(str(error).split(" failed: ", 1)[-1].strip()) from None
        if 'Parser key "arch"' in str(error) and "Got value: None" in str(error):
            raise HwnasError("hwnas retrain needs --arch: the arch.json to train (RUN/search/arch.json)") from None
        lines = [line.strip(" -") for line in str(error).splitlines() if line.strip(" -")]
        problem = next((i for i, line in enumerate(lines) if line.startswith("Problem with given class_path")), None)
        said = lines[:1] + lines[problem:problem + 2] if problem is not None else lines[:3]  # not the Union's listing
        raise HwnasError(f"{' '.join(said)} (hwnas {cli_class.stage} --help lists the options)") from None


def run_stage(cli_class: type[StageCLI], model_class, args: list[str],
              after_fit: Callable[[StageCLI], None] | None = None) -> None:
    """Check, then train and write the stage's records inside the run folder's transaction
    (records/run_folder.py): one writer at a time, an earlier run's records moved aside first."""
    run_folder.ddp_rank()  # a LOCAL_RANK left in the shell is refused before any work
    cli = _cli(cli_class, model_class, args)
    _take_cores(cli.config["threads"], cli.trainer.num_devices)
    _check_before_training(cli)
    check_writable(cli.config["run_dir"], folder=True)
    with run_folder.writing(cli.config["run_dir"], resuming=cli.config["ckpt_path"] is not None):
        _fit(cli)  # the module's own callback writes the stage's records at its end
        if after_fit:
            after_fit(cli)


def _take_cores(threads: int | None, processes: int) -> None:
    """torch's threads: the cores the load leaves free, shared among the run's `processes` (its DDP ranks on
    this machine), or --threads; said on the run's first line."""
    cores = usable_cores()
    if threads is not None and not 1 <= threads <= 4 * cores:
        raise HwnasError(f"--threads must be in 1-{4 * cores} on this machine ({cores} cores), got {threads}")
    share = free_share(threads, processes)
    torch.set_num_threads(share.threads)
    log.info(f"using {share.describe()}{'' if threads else '; --threads N chooses'}")


def _fit(cli: StageCLI) -> None:
    """trainer.fit; a SIGTERM or Ctrl-C becomes one line naming the resume command and a non-zero exit.

    Lightning ends a SIGTERM (what `timeout` and schedulers send) in SIGTERMException, a SystemExit
    whose code is None, i.e. exit status 0, and Ctrl-C in sys.exit(1): both after fit has stopped,
    before any record is written."""
    run_dir, ckpt_path = cli.config["run_dir"], cli.config["ckpt_path"]
    try:
        cli.trainer.fit(cli.model, cli.datamodule, ckpt_path=ckpt_path, weights_only=True)
    except SystemExit as stopped:
        terminated = isinstance(stopped, SIGTERMException)
        checkpoint = RunFolder(Path(run_dir)).last_checkpoint
        resume = (f"resume with the same command and --ckpt_path {checkpoint}" if checkpoint.is_file()
                  else "no checkpoint was saved yet: run the same command again")
        raise Interrupted(f"{'SIGTERM' if terminated else 'Ctrl-C'} stopped `hwnas {cli.stage}` before it finished; "
                          f"it wrote no record into {run_dir}: {resume}",
                          128 + (signal.SIGTERM if terminated else signal.SIGINT)) from None


def _check_before_training(cli: StageCLI) -> None:
    """The data read and split, the module's own checks (the same its callback runs at setup,
    training/checks.py) and that --ckpt_path holds this run's network: all before the run
    folder is touched. The data module keeps its splits, so fit does not read them again."""
    cli.datamodule.setup("fit")
    if cli.config["ckpt_path"]:
        _check_resumable(cli)
    cli.model.check_ready(cli.datamodule, cli.trainer.max_epochs)


def _check_resumable(cli: StageCLI) -> None:
    """--ckpt_path must hold this run's network: one of another space or arch ended in ~100 lines
    of size mismatches from Lightning, after the data had been read."""
    path = cli.config["ckpt_path"]
    if path == "last":  # the one Lightning picks: this run folder's last.ckpt (ModelCheckpoint's save_last)
        path = str(RunFolder(Path(cli.config["run_dir"])).last_checkpoint)
    elif path in LIGHTNING_CKPT_NAMES:
        raise HwnasError(f"--ckpt_path {path}: hwnas resumes from `last` (RUN_DIR/checkpoints/last.ckpt) or from a "
                         f"checkpoint file; pass one of those")
    checkpoint = read_saved(path, f"`hwnas {cli.stage}` wrote (RUN_DIR/checkpoints/last.ckpt)")
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise HwnasError(f"--ckpt_path {path}: not a Lightning checkpoint (no state_dict): pass the last.ckpt "
                         f"of an `hwnas {cli.stage}` run")
    what = "--model.space (and --model.algorithm)" if cli.stage == "search" else "--arch"
    check_fits(cli.model, checkpoint["state_dict"], f"--ckpt_path {path}",
               f"resume with the {what} it was saved with, or start afresh without --ckpt_path")
