"""The `hwnas` command: one subcommand per stage of the pipeline.

    hwnas profile  --space S.yaml --out latency_tables/NAME.json     time every op on this device
    hwnas onboard  --from latency_tables/T.json --out latency_tables/local/T.json   ~20 subnets, not every op
    hwnas kit      --space S.yaml --device mobile --out DIR          the same, to run on another device
    hwnas import-table DIR/results.json --out latency_tables/N.json  a kit's results → table
    hwnas validate-table latency_tables/NAME.json --samples 30       fidelity of a table, measured
    hwnas predict  --arch arch.json --table T.json                   latency of an arch from a table
    hwnas measure  --onnx model.onnx                                  latency of a model, measured
    hwnas search   --config recipes/search_demo.yaml                 LightningCLI: supernet search
    hwnas retrain  --config recipes/retrain_demo.yaml --arch A.json  LightningCLI: subnet from scratch
    hwnas export   --run RUN/retrain                                  ONNX + .ort + model card
    hwnas derive   --ckpt RUN/search/checkpoints/last.ckpt --target-ms X   most probable arch in a budget
    hwnas select   --ckpt RUN/search/checkpoints/last.ckpt --target-ms X   best subnet under a budget
    hwnas front    --ckpt RUN/search/checkpoints/last.ckpt --table A.json --table B.json   every device's front

`search` and `retrain` are LightningCLI programs: every recipe field can be overridden on
the command line (`--trainer.max_epochs 3`, `--model.target_ms 0.5`).
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import sys
import warnings
from pathlib import Path

from hwnas.errors import HwnasError, Interrupted
from hwnas.measuring.timing import DeviceError
from hwnas.records.run_folder import RunFolder

LIGHTNING_STAGES = ("search", "retrain")


# Lightning 2.x still builds torch's deprecated LeafSpec on every batch it moves: a notice meant for
# Lightning's maintainers, printed to our users at every stage.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv and argv[0] in LIGHTNING_STAGES:
            from hwnas.stage_cli import run_stage

            run_stage(argv[0], argv[1:])
        else:
            args = _parser().parse_args(argv)
            args.command(args)
    except (HwnasError, DeviceError) as error:
        print(f"hwnas: error: {_one_line(error)}", file=sys.stderr)
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
    except KeyboardInterrupt:
        resumable = bool(argv) and argv[0] in ("profile", "kit")
        print("hwnas: interrupted" + ("; the exports made so far are kept: run the same command with --resume to "
                                      "continue" if resumable else ""), file=sys.stderr)
        return 130
    return 0


def _one_line(error: Exception) -> str:
    """The error's message. A DataLoader worker re-raises a dataset's error as the same type whose
    message is the worker's whole traceback ("Caught DataError in DataLoader worker process 0. …"),
    ending in "module.Type: message": the last line is the message."""
    lines = str(error).strip().splitlines()
    if len(lines) > 1 and lines[0].startswith("Caught "):
        return lines[-1].split(": ", 1)[-1]
    return " ".join(lines)


class _OneLineParser(argparse.ArgumentParser):
    """argparse, whose error is one HwnasError line (main prints it) instead of the usage and an exit."""

    def error(self, message: str):
        raise HwnasError(f"{message} (`{self.prog} --help` lists the options)")


def _seed(text: str) -> int:
    """A seed: numpy's generators take only integers ≥ 0 (a negative one ended in a traceback after the exports)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"a seed is an integer ≥ 0, got {text!r}")
    return value


def _device_options(command: argparse.ArgumentParser, default: str = "cpu") -> None:
    """Where a command measures: the device kind and ONNX Runtime's intra-op threads."""
    command.add_argument("--device", default=default, choices=["cpu", "gpu", "mobile"])
    command.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")


def _precision_option(command: argparse.ArgumentParser) -> None:
    """The precision a table's models are timed at (part of its device, measuring/quantize.py)."""
    command.add_argument("--precision", default="float32", choices=["float32", "int8"],
                         help="time the models as deployed at this precision (int8: ONNX Runtime static "
                              "quantization, as `hwnas export --int8` writes it)")


def _trust_option(command: argparse.ArgumentParser) -> None:
    """Whether a run folder's config may name a data module that is not hwnas's own (run_data.py)."""
    command.add_argument("--trust-data-module", action="store_true",
                         help="import the data module the run's config names even if it is not one of hwnas's")


def _memory_caps(command: argparse.ArgumentParser) -> None:
    """Hard caps on the chosen arch's memory as deployed (float32, batch 1; net/memory.py)."""
    command.add_argument("--max-weight-mb", type=float, default=None, help="cap on the weights, MB")
    command.add_argument("--max-activation-kb", type=float, default=None, help="cap on the peak activations, KB")


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="hwnas", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    profile = commands.add_parser("profile", help="measure the latency table of a space on this device")
    profile.add_argument("--space", required=True, help="search-space YAML (recipes/spaces/*.yaml)")
    _device_options(profile)
    _precision_option(profile)
    profile.add_argument("--rounds", type=int, default=None, help="timed rounds (default: the protocol's)")
    profile.add_argument("--out", required=True, help="table to write (latency_tables/NAME.json)")
    profile.add_argument("--calibration-samples", type=int, default=None,
                         help="random subnets measured whole to calibrate the table (default 40)")
    profile.add_argument("--resume", action="store_true", help="continue an interrupted profile (OUT.partial/)")
    profile.add_argument("--skip-if-current", action="store_true",
                         help="do nothing if --out already is a valid table for this space")
    profile.set_defaults(command=_profile)

    onboard = commands.add_parser("onboard", help="this machine's table from another device's table and ~20 "
                                                  "subnets measured here (seconds, not a full profile)")
    onboard.add_argument("--from", dest="source", required=True, help="another device's table of the space")
    onboard.add_argument("--out", required=True, help="table to write (latency_tables/local/NAME.json)")
    onboard.add_argument("--subnets", type=int, default=None, help="whole subnets to measure here (default 20)")
    onboard.add_argument("--rounds", type=int, default=None, help="timed rounds (default: the protocol's)")
    onboard.add_argument("--skip-if-current", action="store_true",
                         help="do nothing if --out already is this machine's table; copy --from if it is")
    onboard.set_defaults(command=_onboard)

    kit = commands.add_parser("kit", help="write a self-contained profiling kit to run on another device")
    kit.add_argument("--space", required=True)
    _device_options(kit, default="mobile")
    _precision_option(kit)
    kit.add_argument("--calibration-samples", type=int, default=None)
    kit.add_argument("--out", required=True, help="kit folder to write")
    kit.add_argument("--resume", action="store_true", help="continue a kit folder whose export was interrupted")
    kit.set_defaults(command=_kit)

    import_table = commands.add_parser("import-table", help="turn a kit's results.json into a latency table")
    import_table.add_argument("results", help="results.json written by the kit's run.py")
    import_table.add_argument("--out", required=True, help="table to write (latency_tables/NAME.json)")
    import_table.set_defaults(command=_import_table)

    validate = commands.add_parser("validate-table", help="measure fresh subnets: how well does the table predict?")
    validate.add_argument("table")
    validate.add_argument("--samples", type=int, default=None, help="fresh subnets to measure (default 30)")
    validate.add_argument("--seed", type=_seed, default=1)
    validate.add_argument("--rounds", type=int, default=None, help="timed rounds per run (default: the protocol's)")
    validate.set_defaults(command=_validate_table)

    predict = commands.add_parser("predict", help="predicted latency (ms) of an arch from a table")
    predict.add_argument("--arch", required=True, help="arch.json written by `hwnas search`")
    predict.add_argument("--table", required=True, help="latency table JSON")
    predict.add_argument("--now", action="store_true",
                         help="time the table's reference subnet now and rescale to the machine's current speed")
    predict.set_defaults(command=_predict)

    measure = commands.add_parser("measure", help="measured latency (ms) of an ONNX model, same protocol")
    measure.add_argument("--onnx", required=True)
    _device_options(measure)
    measure.set_defaults(command=_measure)

    export = commands.add_parser("export", help="ONNX + .ort + model card of a retrained subnet")
    export.add_argument("--run", required=True, help="folder written by `hwnas retrain`")
    export.add_argument("--out", default=None, help="output folder (default: RUN/../export)")
    export.add_argument("--table", default=None, help="latency table (default: the one the search used)")
    _device_options(export)
    export.add_argument("--int8", type=int, default=None, metavar="N",
                        help="also write model.int8.onnx, calibrated on N train batches of the run's data (e.g. 8)")
    _trust_option(export)
    export.set_defaults(command=_export)

    derive = commands.add_parser("derive", help="most probable arch of a searched supernet inside a latency budget")
    derive.add_argument("--ckpt", required=True, help="search checkpoint (RUN/search/checkpoints/last.ckpt)")
    derive.add_argument("--target-ms", type=float, required=True, help="latency budget T in ms")
    derive.add_argument("--table", default=None, help="latency table (default: the one the search used), "
                                                      "e.g. another device's")
    derive.add_argument("--floor", type=float, default=None,
                        help="derive inside [floor*T, T] (default: the search's derive_floor, 0.9)")
    derive.add_argument("--no-measure", action="store_true",
                        help="do not measure the arch on this machine even when the table is this machine's")
    derive.add_argument("--out", default=None, help="output folder (default: RUN/derive)")
    _memory_caps(derive)
    derive.set_defaults(command=_derive)

    select = commands.add_parser("select", help="best subnet of a trained supernet under a latency target")
    select.add_argument("--ckpt", required=True, help="search checkpoint (RUN/search/checkpoints/last.ckpt)")
    select.add_argument("--target-ms", type=float, required=True, help="latency budget in ms (table prediction)")
    select.add_argument("--table", default=None, help="latency table (default: the one the search used)")
    select.add_argument("--out", default=None, help="output folder (default: RUN/select)")
    select.add_argument("--data-config", default=None,
                        help="the search's resolved config, for its data module (default: RUN/search/logs/config.yaml)")
    select.add_argument("--method", default="evolution", choices=["evolution", "random", "both"])
    select.add_argument("--population", type=int, default=20, help="evolution: population size P")
    select.add_argument("--cycles", type=int, default=100, help="evolution: children C; random scores P + C archs")
    select.add_argument("--sample", type=int, default=5, help="evolution: tournament size S")
    select.add_argument("--seed", type=_seed, default=0)
    select.add_argument("--calibration-batches", type=int, default=4,
                        help="train batches that recompute each candidate's BN statistics")
    _memory_caps(select)
    _trust_option(select)
    select.set_defaults(command=_select)

    front = commands.add_parser("front", help="from one trained supernet: the best arch per budget and the "
                                              "accuracy-latency front on every device's table")
    front.add_argument("--ckpt", required=True, help="search checkpoint (RUN/search/checkpoints/last.ckpt)")
    front.add_argument("--table", action="append", required=True, help="a device's latency table (repeat it)")
    front.add_argument("--points", type=int, default=8, help="budgets per device, spread over its table's range")
    front.add_argument("--targets", type=float, nargs="+", default=None, help="budgets in ms (instead of --points)")
    front.add_argument("--pool", type=int, default=300, help="random archs scored once on the supernet")
    front.add_argument("--seed", type=_seed, default=0)
    front.add_argument("--calibration-batches", type=int, default=4,
                       help="train batches that recompute each candidate's BN statistics")
    front.add_argument("--no-measure", action="store_true", help="do not time the chosen archs on this machine")
    front.add_argument("--out", default=None, help="output folder (default: RUN/front)")
    _memory_caps(front)
    _trust_option(front)
    front.set_defaults(command=_front)

    for stage in LIGHTNING_STAGES:  # listed for --help; dispatched to LightningCLI before argparse
        commands.add_parser(stage, help=f"LightningCLI: `hwnas {stage} --help` for its options")
    return parser


def _profile(args: argparse.Namespace) -> None:
    from hwnas.latency.table import save_table
    from hwnas.net.space import load_space
    from hwnas.profile.profile import profile_space

    space = load_space(args.space)
    precision = "" if args.precision == "float32" else f"-{args.precision}"
    _check_table_out(args.out, f"{space.name}-{args.device}{precision}.json")
    if args.skip_if_current and Path(args.out).is_file():
        reason = _not_current_because(args.out, space, args.device, args.threads, args.precision)
        if reason is None:
            print(f"{args.out} is up to date for space {space.name} ({space.fingerprint()}) on this machine; "
                  f"not re-profiling")
            return
        print(f"re-profiling {args.out} for this machine: {reason}")
    options = {name: value for name, value in [("rounds", args.rounds), ("calibration_samples", args.calibration_samples)]
               if value is not None}
    table = profile_space(space, device=args.device, threads=args.threads, precision=args.precision,
                          workdir=f"{args.out}.partial", resume=args.resume, **options)
    save_table(table, args.out)
    _describe(table, args.out)


def _check_table_out(out: str, example_name: str) -> None:
    from hwnas.files.atomic import check_writable

    if Path(out).is_dir():
        raise HwnasError(f"--out {out} is a folder: name the table file to write, e.g. {out}/{example_name}")
    check_writable(out)


def _onboard(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import atomic_output
    from hwnas.latency.table import load_table, save_table
    from hwnas.profile.onboard import ONBOARD_SUBNETS, onboard_table

    if args.rounds is not None and args.rounds < 1:
        raise HwnasError(f"--rounds must be at least 1, got {args.rounds}")
    source = load_table(args.source)
    kind, threads = source.device["kind"], source.device["threads"]
    _check_table_out(args.out, Path(args.source).name)
    if Path(args.out).resolve() == Path(args.source).resolve():
        raise HwnasError(f"--out {args.out} is the --from table: write this machine's table elsewhere "
                         f"(latency_tables/local/{Path(args.source).name})")
    if args.skip_if_current:
        if Path(args.out).is_file():
            reason = _not_current_because(args.out, source.space, kind, threads, source.precision)
            if reason is None:
                print(f"{args.out} is up to date for space {source.space.name} on this machine; not onboarding")
                return
            print(f"{args.out} is not this machine's table: {reason}")
        if _not_current_because(args.source, source.space, kind, threads, source.precision) is None:
            with atomic_output(args.out) as temporary:
                temporary.write_bytes(Path(args.source).read_bytes())
            print(f"{args.source} was measured on this machine: copied it to {args.out}")
            return
    rounds = {} if args.rounds is None else {"rounds": args.rounds}
    table = onboard_table(source, args.source, subnets=ONBOARD_SUBNETS if args.subnets is None else args.subnets,
                          **rounds)
    save_table(table, args.out)
    _describe(table, args.out)


def _not_current_because(path: str, space, device: str, threads: int, precision: str) -> str | None:
    """Why the table at `path` is not this machine's table of `space` for --device/--threads/--precision
    (None: it is)."""
    from hwnas.latency.table import TableError, load_table
    from hwnas.measuring.device_identity import differences_from_here, speed_mismatch

    try:
        table = load_table(path, space)
    except TableError as error:
        return str(error)
    asked = {"kind": device, "threads": threads, "precision": precision}
    recorded = {**table.device, "precision": table.precision}
    wrong = [f"{name} {recorded.get(name)!r} (asked {value!r})" for name, value in asked.items()
             if recorded.get(name) != value]
    if wrong:
        return f"it was measured for {'; '.join(wrong)}"
    differences = differences_from_here(table.device)
    if differences:
        return f"it was measured on another device: {'; '.join(differences)}"
    return speed_mismatch(table.reference_ms, _reference_now_ms(table))


def _describe(table, path: str) -> None:
    fastest, slowest = table.latency_range_ms()
    print(f"wrote {path}: {len(table.entries)} entries, timed as {table.precision} models; archs of space "
          f"{table.space.name} span "
          f"{fastest:.3f}-{slowest:.3f} ms ({table.method})")


def _kit(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.net.space import load_space
    from hwnas.profile.kit import write_kit

    check_writable(args.out, folder=True)
    options = {} if args.calibration_samples is None else {"calibration_samples": args.calibration_samples}
    manifest = write_kit(load_space(args.space), args.out, device=args.device, threads=args.threads,
                         precision=args.precision, resume=args.resume, **options)
    print(f"wrote {args.out}: {len(manifest['models'])} models. Copy the folder to the device, run "
          f"`python3 run.py` there (needs numpy and onnxruntime), then `hwnas import-table results.json --out ...`")


def _import_table(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import atomic_output
    from hwnas.latency.table import TableError, load_table, save_table
    from hwnas.profile.kit import import_results, load_results

    _check_table_out(args.out, "NAME.json")
    table = import_results(load_results(args.results), args.results)
    with atomic_output(args.out) as temporary:  # written only if it loads back: results are a stranger's file
        save_table(table, temporary)
        try:
            load_table(temporary)
        except TableError as error:
            raise HwnasError(f"{args.results}: these results make a table nothing could load "
                             f"({str(error).split(': ', 1)[1]}): run the kit again") from None
    _describe(table, args.out)


def _validate_table(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.latency.table import load_table, save_table
    from hwnas.measuring.device_identity import differences_from_here
    from hwnas.measuring.fidelity import plot_fidelity, validate_table

    if args.samples is not None and args.samples < 3:  # Kendall's τ and a spread need a few points
        raise HwnasError(f"--samples must be at least 3 (30 is the fidelity report's standard), got {args.samples}")
    if args.rounds is not None and args.rounds < 1:
        raise HwnasError(f"--rounds must be at least 1, got {args.rounds}")
    table = load_table(args.table)
    plot = str(Path(args.table).with_suffix(".fidelity.png"))
    check_writable(args.table)  # the report goes into the table,
    check_writable(plot)  # the scatter plot beside it
    elsewhere = differences_from_here(table.device)
    if elsewhere:  # its fresh subnets would be timed here and the report written into another device's table
        raise HwnasError(f"{args.table} was measured on another device ({'; '.join(elsewhere)}): validate it there, "
                         f"or onboard this machine first (hwnas onboard --from {args.table} --out "
                         f"latency_tables/local/{Path(args.table).name}) and validate that")
    given = {name: value for name, value in [("samples", args.samples), ("rounds", args.rounds)] if value is not None}
    report = validate_table(table, seed=args.seed, **given)
    table.fidelity = report
    save_table(table, args.table)
    plot_fidelity(report, f"{Path(args.table).name}: {report['samples']} fresh subnets", plot)
    print(f"{report['samples']} fresh subnets, {report['method']}")
    for name in ("raw", "normalized", "second_measurement"):
        r = report[name]
        print(f"  {name:19s} mean |err| {r['mean_abs_error_pct']:5.1f}%  max {r['max_abs_error_pct']:5.1f}%  "
              f"within ±5% {r['within_5_pct']:4.0%}  ±10% {r['within_10_pct']:4.0%}  Kendall τ {r['kendall_tau']:.3f}")
    print(f"saved the report in {args.table} (\"fidelity\") and the scatter plot in {plot}")


def _predict(args: argparse.Namespace) -> None:
    from hwnas.latency.table import load_table
    from hwnas.measuring.device_identity import describe_mismatch
    from hwnas.records.arch_record import ArchRecord

    arch = ArchRecord.load(args.arch).arch
    table = load_table(args.table, arch.space)
    mismatch = describe_mismatch(args.table, table.device)
    if mismatch:
        print(mismatch)
    predicted = table.predict_ms(arch)
    if args.now:
        now_ms = _reference_now_ms(table)
        print(f"reference subnet: {table.reference_ms:.4f} ms in the table, {now_ms:.4f} ms now")
        predicted *= table.rescale_factor(now_ms)
    print(f"{predicted:.4f} ms predicted ({args.table}: {table.method}; {table.device.get('kind')}, "
          f"{table.device.get('threads')} thread(s), {table.precision} models"
          f"{'; rescaled by the reference timed now' if args.now else ''})")


def _reference_now_ms(table) -> float:
    """The table's reference subnet timed now on this machine, with the table's protocol (ms)."""
    from hwnas.measuring.measure import measure_beside_reference

    return measure_beside_reference({}, table).reference_now_ms


def _measure(args: argparse.Namespace) -> None:
    from hwnas.profile.profile import measure_onnx

    if not Path(args.onnx).is_file():
        raise HwnasError(f"{args.onnx}: no such ONNX file")
    try:
        stats = measure_onnx(args.onnx, device=args.device, threads=args.threads)
    except ValueError as error:  # random_input: not one float input, or a fixed batch other than 1
        raise HwnasError(f"{args.onnx}: {error}: `hwnas measure` times image models with one float input "
                         f"and a batch axis of 1 or dynamic, as `hwnas export` writes them") from None
    print(f"{stats['median_ms']:.4f} ms measured (median; p25 {stats['p25_ms']:.4f}, p75 {stats['p75_ms']:.4f}; "
          f"{args.device}, {args.threads} thread(s))")


def _export(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.export.export import export_run
    from hwnas.measuring.timing import provider_for

    if args.int8 is not None and args.int8 < 1:
        raise HwnasError(f"--int8 is the number of train batches to calibrate on, at least 1: got {args.int8}")
    provider_for(args.device, args.threads)  # a device or thread count that cannot run here, before any export
    out = args.out or str(RunFolder(Path(args.run)).beside("export"))
    check_writable(out, folder=True)
    card = export_run(args.run, out, args.table, args.device, args.threads, int8_batches=args.int8,
                      trusted=args.trust_data_module)
    print(json.dumps(card, indent=2))
    int8 = f", {out}/model.int8.onnx" if card["int8"] else ""
    print(f"wrote {out}/model.onnx, {out}/model.ort{int8} and {out}/model_card.json")


def _check_target(target_ms: float) -> None:
    if not (math.isfinite(target_ms) and target_ms > 0):  # inf was written to JSON as Infinity, then crashed a plot
        raise HwnasError(f"--target-ms must be a positive, finite number of ms, got {target_ms}")


def _derive(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.derive.on_device import derive_for_target
    from hwnas.net.memory import MemoryCaps
    from hwnas.records.arch_record import DEFAULT_FLOOR, ArchRecord
    from hwnas.search.arch_steps import choose_strategy
    from hwnas.records.search_checkpoint import load_search_checkpoint

    _check_target(args.target_ms)
    caps = MemoryCaps(args.max_weight_mb, args.max_activation_kb)
    checkpoint = load_search_checkpoint(args.ckpt)
    h = checkpoint.hparams
    if choose_strategy(h.get("mode", "binary"), h.get("gate", "full"), h.get("estimator", "binary_connect")).one_shot_only:
        raise HwnasError(f"{args.ckpt} is a mode-sum search: its alphas never trained, so the most probable arch would "
                         f"be noise; choose from the supernet with `hwnas select --ckpt {args.ckpt} --target-ms "
                         f"{args.target_ms}`")
    floor = checkpoint.hparams.get("derive_floor", DEFAULT_FLOOR) if args.floor is None else args.floor
    if not 0 <= floor < 1:
        raise HwnasError(f"--floor is the share of the target the arch must reach, in [0, 1): got {floor}")
    table, table_ref = checkpoint.open_table(args.table)
    out = Path(args.out) if args.out else RunFolder.of_checkpoint(args.ckpt).beside("derive")
    check_writable(out, folder=True)
    check_writable(out / "arch.json")
    arch, provenance = derive_for_target(checkpoint.supernet.probabilities(), table, table_ref, args.target_ms,
                                         floor, not args.no_measure, stage="derive",
                                         checkpoint=str(Path(args.ckpt).resolve()), caps=caps)
    ArchRecord(arch, provenance).save(out / "arch.json")
    measured = provenance.measurement
    print(f"derived {', '.join(arch.ops)}: predicted {provenance.predicted_ms:.4f} ms, "
          + (f"measured {measured.median_ms:.4f} ms" if measured else f"not measured: {provenance.not_measured_because}")
          + f" (target {args.target_ms} ms); wrote {out}/arch.json")


def _select(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.net.memory import MemoryCaps
    from hwnas.select.select import run_select

    _check_target(args.target_ms)
    out = args.out or str(RunFolder.of_checkpoint(args.ckpt).beside("select"))
    check_writable(out, folder=True)
    summary = run_select(args.ckpt, args.target_ms, args.table, out, args.data_config, args.method, args.population,
                         args.cycles, args.sample, args.seed, args.calibration_batches,
                         MemoryCaps(args.max_weight_mb, args.max_activation_kb), args.trust_data_module)
    for method, result in summary["methods"].items():
        print(f"{method}: best accuracy {result['best']['accuracy']:.4f} at {result['best']['predicted_ms']:.4f} ms "
              f"({result['evaluations']} scored, {result['unique_archs']} distinct)")
    chosen = summary["chosen"]
    print(f"chosen ({chosen['method']}): {', '.join(chosen['ops'])}: accuracy {chosen['accuracy']:.4f} (arch split), "
          f"{chosen['predicted_ms']:.4f} ms predicted, target {args.target_ms} ms")
    print(f"wrote {out}/arch.json, {out}/select.json and {out}/pareto.png")


def _front(args: argparse.Namespace) -> None:
    from hwnas.files.atomic import check_writable
    from hwnas.net.memory import MemoryCaps
    from hwnas.front.front import run_front

    out = args.out or str(RunFolder.of_checkpoint(args.ckpt).beside("front"))
    check_writable(out, folder=True)
    summary = run_front(args.ckpt, args.table, out, args.targets, args.points, args.pool, args.seed,
                        args.calibration_batches, not args.no_measure, MemoryCaps(args.max_weight_mb,
                                                                                  args.max_activation_kb),
                        trusted=args.trust_data_module)
    for name, device in summary["devices"].items():
        print(f"{name}: {len(device['front'])} archs on the front")
        for row in device["chosen"]:
            measured = row.get("measured_at_table_speed_ms")
            print(f"  T {row['target_ms']:.4f} ms: " + (
                f"{' '.join(row['ops'])}  score {row['score']:.4f}, predicted {row['predicted_ms']:.4f} ms"
                + (f", measured {measured:.4f} ms at the table's speed" if measured else "")
                if row["ops"] else "no arch of the pool fits"))
    print(f"scored {summary['scored']} archs once for {len(summary['devices'])} table(s); wrote {out}/front.json, "
          f"{out}/front.png and an arch.json per chosen arch")


if __name__ == "__main__":
    sys.exit(main())
