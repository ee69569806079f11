"""The `hwnas` command: one subcommand per stage, each wired to the library call that does it.

    hwnas profile | onboard | kit | import-table | validate-table     a device's latency table
    hwnas search --config recipes/search_demo.yaml                    LightningCLI: supernet search
    hwnas derive | select | front --ckpt RUN/search/checkpoints/last.ckpt   an arch from a trained supernet
    hwnas retrain --config recipes/retrain_demo.yaml --arch A.json    LightningCLI: subnet from scratch
    hwnas export --run RUN/retrain                                    ONNX + .ort + model card
    hwnas predict | measure                                           one arch's or one model's latency

Options are spelled as in the recipes (`--target_ms`); the hyphenated spellings of the earlier release
(`--target-ms`) still work, said in one line. The library logs to the "hwnas" logger; `main` shows its
lines on stdout, the errors a user can fix as one line on stderr.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import signal
import sys

from hwnas.console import configure_output, current_spellings, one_line
from hwnas.errors import HwnasError, Interrupted, Terminated, raise_terminated
from hwnas.latency.device import DEVICE_KINDS, PRECISIONS

LIGHTNING_STAGES = ("search", "retrain")
RESUMABLE = ("profile", "kit")
log = logging.getLogger("hwnas")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    configure_output()
    from hwnas.measuring.timing import DeviceError  # onnxruntime: not before the output is configured

    try:
        if argv and argv[0] in LIGHTNING_STAGES:
            from hwnas.retrain.cli import run_retrain
            from hwnas.search.cli import run_search

            (run_search if argv[0] == "search" else run_retrain)(argv[1:])
        else:
            args = _parser().parse_args(current_spellings(argv))
            signal.signal(signal.SIGTERM, raise_terminated)  # what `timeout` and job schedulers send
            args.command(args)
    except (HwnasError, DeviceError) as error:
        print(f"hwnas: error: {one_line(error)}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        print(f"hwnas: interrupted: {stop}", file=sys.stderr)
        return stop.exit_code
    except OSError as error:  # a location the outputs cannot be written to, found late (checked early where we can)
        where = f"{error.filename}: " if error.filename else ""
        fix = "free some space or choose another location" if error.errno == errno.ENOSPC else \
            "choose a location you can write to"
        print(f"hwnas: error: {where}{error.strerror or error}: {fix}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as stop:
        resume = "; the exports made so far are kept: run the same command with --resume to continue"
        by = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C"
        print(f"hwnas: interrupted by {by}{resume if argv and argv[0] in RESUMABLE else ''}", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT)
    return 0


class _OneLineParser(argparse.ArgumentParser):
    """argparse, whose error is one HwnasError line (main prints it) instead of the usage and an exit."""

    def error(self, message: str):
        raise HwnasError(f"{message} (`{self.prog} --help` lists the options)")


def _seed(text: str) -> int:
    """A seed: numpy's generators take only integers ≥ 0 (a negative one ended in a traceback after the exports)."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a seed is an integer ≥ 0, got {text!r}")
    return int(text)


# `hwnas select`'s final check: each field of records/search_checkpoint.py's FinalCheck (a search recipe sets them
# as model.derive.final_check) → its option here, with the option's argparse keywords
_FINAL_CHECK_OPTIONS = {
    "candidates": ("--final_check", {"type": int, "default": 0, "metavar": "K",
                                     "help": "train the best K briefly, halve"}),
    "epochs": ("--final_check_epochs", {"type": int, "default": 1, "help": "the final check's first epochs"}),
    "trainings": ("--final_check_trainings", {"type": int, "default": 1,
                                              "help": "seeds per candidate, scored by the mean"}),
    "minutes": ("--final_check_minutes", {"type": float, "default": None, "help": "no rung that would end past this"}),
    "epoch_budget": ("--final_check_epoch_budget", {"type": int, "default": None,
                     "help": "no rung that would take the candidates' epochs, added up, past this"})}


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="hwnas", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help: str, *options: tuple):
        """A subcommand whose options are (name, argparse keywords…): ("--out", {"required": True, "help": …})."""
        sub = commands.add_parser(name, help=help)
        for option, keywords in options:
            sub.add_argument(option, **keywords)
        sub.set_defaults(command=run)

    out = ("--out", {"required": True, "help": "table to write (latency_tables/local/NAME.json)"})
    device = ("--device", {"default": "cpu", "choices": DEVICE_KINDS})
    threads = ("--threads", {"type": int, "default": 1, "help": "ONNX Runtime intra-op threads (default 1)"})
    precision = ("--precision", {"default": "float32", "choices": PRECISIONS,
                                 "help": "time the models as deployed at this precision (measuring/quantize.py)"})
    rounds = ("--rounds", {"type": int, "default": None, "help": "timed rounds (default: the protocol's)"})
    ckpt = ("--ckpt", {"required": True, "help": "search checkpoint (RUN/search/checkpoints/last.ckpt)"})
    target = ("--target_ms", {"type": float, "required": True, "help": "latency budget T in ms"})
    table = ("--table", {"default": None, "help": "latency table (default: the one the search used)"})
    seed = ("--seed", {"type": _seed, "default": 0})
    calibration = ("--calibration_batches", {"type": int, "default": 4,
                                             "help": "train batches that recompute each candidate's BN statistics"})
    trust = ("--trust_data_module", {"action": "store_true",
                                     "help": "import the data module the run's config names even if not hwnas's"})
    caps = [("--max_weight_mb", {"type": float, "default": None, "help": "cap on the weights, MB"}),
            ("--max_activation_kb", {"type": float, "default": None, "help": "cap on the peak activations, KB"})]
    flag = {"action": "store_true"}
    command("profile", _profile, "measure the latency table of a space on this device",
            ("--space", {"required": True}), device, threads, precision, rounds, out,
            ("--calibration_samples", {"type": int, "default": None, "help": "subnets timed whole (default 40)"}),
            ("--resume", {**flag, "help": "continue an interrupted profile (OUT.partial/)"}),
            ("--skip_if_current", {**flag, "help": "do nothing if --out already is this machine's table"}))
    command("onboard", _onboard, "a table from another device's and ~20 subnets timed here or measured elsewhere",
            ("--from", {"dest": "source", "required": True, "help": "another device's table of the space"}),
            ("--out", {"help": "table to write (latency_tables/local/NAME.json)"}), ("--subnets", {"type": int}), rounds,
            ("--skip_if_current", {**flag, "help": "nothing if --out is current; copy --from if measured here"}),
            ("--kit", {"help": "the subnets to measure on a device elsewhere, as a kit"}),
            ("--measured", {"help": "that kit's results.json: onboard the device that measured it"}))
    command("kit", _kit, "write a self-contained profiling kit to run on another device",
            ("--space", {"required": True}), ("--device", {"default": "mobile", "choices": DEVICE_KINDS}), threads,
            precision, ("--calibration_samples", {"type": int, "default": None}),
            ("--out", {"required": True, "help": "kit folder to write"}), ("--resume", flag))
    command("import-table", _import_table, "a kit's results.json, or a published per-layer table, as a table",
            ("results", {"help": "results.json of a kit's run.py, or a published table (docs/published_tables.md)"}),
            out, ("--space", {"default": None, "help": "the space a published table prices"}))
    command("validate-table", _validate_table, "measure fresh subnets: how well does the table predict?",
            ("table", {}), ("--samples", {"type": int, "default": None, "help": "fresh subnets (default 30)"}),
            ("--seed", {"type": _seed, "default": 1}), rounds)
    command("predict", _predict, "predicted latency (ms) of an arch from a table",
            ("--arch", {"required": True, "help": "arch.json"}), ("--table", {"required": True}),
            ("--now", {**flag, "help": "rescale to this machine's speed now (the reference timed now)"}))
    command("measure", _measure, "measured latency (ms) of an ONNX model, same protocol",
            ("--onnx", {"required": True}), device, threads)
    command("export", _export, "ONNX + .ort + model card of a retrained subnet",
            ("--run", {"required": True, "help": "folder written by `hwnas retrain`"}),
            ("--out", {"default": None, "help": "output folder (default: RUN/../export)"}), table, device, threads,
            ("--int8", {"type": int, "default": None, "metavar": "N",
                        "help": "also model.int8.onnx, calibrated on N train batches of the run's data"}), trust)
    command("derive", _derive, "most probable arch of a searched supernet inside a latency budget", ckpt, target,
            table, ("--floor", {"type": float, "default": None, "help": "inside [floor*T, T] (default: the search's)"}),
            ("--no_measure", flag), ("--out", {"default": None, "help": "output folder (default: RUN/derive)"}), *caps)
    command("select", _select, "best subnet of a trained supernet under a latency target", ckpt, target, table,
            ("--out", {"default": None, "help": "output folder (default: RUN/select)"}),
            ("--data_config", {"default": None, "help": "the search's config.yaml (default: RUN/search/logs/)"}),
            ("--method", {"default": "evolution", "choices": ["evolution", "random", "both"]}),
            ("--population", {"type": int, "default": 20}), ("--cycles", {"type": int, "default": 100}),
            ("--sample", {"type": int, "default": 5}), seed, calibration, *caps, trust,
            *_FINAL_CHECK_OPTIONS.values())
    command("front", _front, "the best arch per budget and the front on every device's table", ckpt,
            ("--table", {"action": "append", "required": True, "help": "a device's latency table (repeat it)"}),
            ("--points", {"type": int, "default": 8}), ("--targets", {"type": float, "nargs": "+", "default": None}),
            ("--pool", {"type": int, "default": 300}), seed, calibration, ("--no_measure", flag),
            ("--out", {"default": None, "help": "output folder (default: RUN/front)"}), *caps, trust)
    for stage in LIGHTNING_STAGES:  # listed for --help; dispatched to LightningCLI before argparse
        commands.add_parser(stage, help=f"LightningCLI: `hwnas {stage} --help` for its options")
    return parser


def _given(args: argparse.Namespace, *names: str) -> dict:
    """The options among `names` the user gave (the rest keep the library's defaults)."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _caps(args: argparse.Namespace):
    from hwnas.net.memory import MemoryCaps

    return MemoryCaps(args.max_weight_mb, args.max_activation_kb)


def _profile(args: argparse.Namespace) -> None:
    from hwnas.profile.profile import run_profile

    run_profile(args.space, args.out, device=args.device, threads=args.threads, precision=args.precision,
                resume=args.resume, skip_if_current=args.skip_if_current, **_given(args, "rounds", "calibration_samples"))


def _onboard(args: argparse.Namespace) -> None:
    from hwnas.profile.onboard import run_onboard

    run_onboard(args.source, args.out, skip_if_current=args.skip_if_current, measured=args.measured, kit=args.kit,
                **_given(args, "subnets", "rounds"))


def _kit(args: argparse.Namespace) -> None:
    from hwnas.profile.kit import write_kit_folder

    write_kit_folder(args.space, args.out, device=args.device, threads=args.threads, precision=args.precision,
                     resume=args.resume, **_given(args, "calibration_samples"))


def _import_table(args: argparse.Namespace) -> None:
    from hwnas.profile.imported import import_table

    import_table(args.results, args.out, args.space)


def _validate_table(args: argparse.Namespace) -> None:
    from hwnas.measuring.fidelity import validate_table_file

    validate_table_file(args.table, seed=args.seed, **_given(args, "samples", "rounds"))


def _predict(args: argparse.Namespace) -> None:
    from hwnas.measuring.predict import predict
    from hwnas.records.arch_record import ArchRecord

    predict(ArchRecord.load(args.arch).arch, args.table, args.now)


def _measure(args: argparse.Namespace) -> None:
    from hwnas.measuring.measure import measure_onnx

    measure_onnx(args.onnx, device=args.device, threads=args.threads)


def _export(args: argparse.Namespace) -> None:
    from hwnas.export.export import export_run

    card = export_run(args.run, args.out, args.table, args.device, args.threads, args.int8, args.trust_data_module)
    log.info(json.dumps(card.to_json(), indent=2))


def _derive(args: argparse.Namespace) -> None:
    from hwnas.derive.from_checkpoint import run_derive

    run_derive(args.ckpt, args.target_ms, args.table, args.floor, not args.no_measure, args.out, _caps(args))


def _select(args: argparse.Namespace) -> None:
    from hwnas.records.search_checkpoint import FinalCheck
    from hwnas.select.select import run_select

    run_select(args.ckpt, args.target_ms, args.table, args.out, args.data_config, args.method, args.population,
               args.cycles, args.sample, args.seed, args.calibration_batches, _caps(args), args.trust_data_module,
               FinalCheck(**{field: getattr(args, option.lstrip("-"))
                             for field, (option, _) in _FINAL_CHECK_OPTIONS.items()}, pool=max(64, args.final_check),
                          _options={field: option for field, (option, _) in _FINAL_CHECK_OPTIONS.items()}))


def _front(args: argparse.Namespace) -> None:
    from hwnas.front.front import run_front

    run_front(args.ckpt, args.table, args.out, args.targets, args.points, args.pool, args.seed,
              args.calibration_batches, not args.no_measure, _caps(args), args.trust_data_module)


if __name__ == "__main__":
    sys.exit(main())
