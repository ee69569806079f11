"""The `hwnas` command: one subcommand per stage of the pipeline.

    hwnas profile  --space S.yaml --out latency_tables/NAME.json     time every op on this device
    hwnas predict  --arch arch.json --table T.json                   latency of an arch from a table
    hwnas measure  --onnx model.onnx                                  latency of a model, measured
    hwnas search   --config recipes/search_demo.yaml                 LightningCLI: supernet search
    hwnas retrain  --config recipes/retrain_demo.yaml --arch A.json  LightningCLI: subnet from scratch
    hwnas export   --run RUN/retrain                                  ONNX + .ort + model card

`search` and `retrain` are LightningCLI programs: every recipe field can be overridden on
the command line (`--trainer.max_epochs 3`, `--model.target_ms 0.5`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hwnas.errors import HwnasError
from hwnas.latency.timing import DeviceError

LIGHTNING_STAGES = ("search", "retrain")


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
        print(f"hwnas: error: {error}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwnas", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    profile = commands.add_parser("profile", help="measure the latency table of a space on this device")
    profile.add_argument("--space", required=True, help="search-space YAML (recipes/spaces/*.yaml)")
    profile.add_argument("--device", default="cpu", choices=["cpu", "gpu", "mobile"])
    profile.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads (default 1)")
    profile.add_argument("--rounds", type=int, default=None, help="timed rounds (default: the protocol's)")
    profile.add_argument("--out", required=True, help="table to write (latency_tables/NAME.json)")
    profile.add_argument("--skip-if-current", action="store_true",
                         help="do nothing if --out already is a valid table for this space")
    profile.set_defaults(command=_profile)

    predict = commands.add_parser("predict", help="predicted latency (ms) of an arch from a table")
    predict.add_argument("--arch", required=True, help="arch.json written by `hwnas search`")
    predict.add_argument("--table", required=True, help="latency table JSON")
    predict.set_defaults(command=_predict)

    measure = commands.add_parser("measure", help="measured latency (ms) of an ONNX model, same protocol")
    measure.add_argument("--onnx", required=True)
    measure.add_argument("--device", default="cpu", choices=["cpu", "gpu", "mobile"])
    measure.add_argument("--threads", type=int, default=1)
    measure.set_defaults(command=_measure)

    export = commands.add_parser("export", help="ONNX + .ort + model card of a retrained subnet")
    export.add_argument("--run", required=True, help="folder written by `hwnas retrain`")
    export.add_argument("--out", default=None, help="output folder (default: RUN/../export)")
    export.add_argument("--table", default=None, help="latency table (default: the one the search used)")
    export.add_argument("--device", default="cpu", choices=["cpu", "gpu", "mobile"])
    export.add_argument("--threads", type=int, default=1)
    export.set_defaults(command=_export)

    for stage in LIGHTNING_STAGES:  # listed for --help; dispatched to LightningCLI before argparse
        commands.add_parser(stage, help=f"LightningCLI: `hwnas {stage} --help` for its options")
    return parser


def _profile(args: argparse.Namespace) -> None:
    from hwnas.latency.profile import profile_space
    from hwnas.latency.table import TableError, load_table, save_table
    from hwnas.space import load_space

    space = load_space(args.space)
    if args.skip_if_current and Path(args.out).is_file():
        try:
            load_table(args.out, space)
            print(f"{args.out} is up to date for space {space.name} ({space.fingerprint()}); not re-profiling")
            return
        except TableError as error:
            print(f"re-profiling: {error}")
    options = {} if args.rounds is None else {"rounds": args.rounds}
    table = profile_space(space, device=args.device, threads=args.threads, **options)
    save_table(table, args.out)
    fastest, slowest = table.latency_range_ms(space)
    print(f"wrote {args.out}: {len(table.entries)} entries; archs of this space span "
          f"{fastest:.3f}-{slowest:.3f} ms (sum of medians)")


def _predict(args: argparse.Namespace) -> None:
    from hwnas.arch import load_arch
    from hwnas.latency.table import load_table

    arch = load_arch(args.arch)
    table = load_table(args.table, arch.space)
    print(f"{table.predict_ms(arch):.4f} ms predicted ({args.table}: sum of per-op medians, "
          f"{table.device.get('kind')}, {table.device.get('threads')} thread(s))")


def _measure(args: argparse.Namespace) -> None:
    from hwnas.latency.profile import measure_onnx

    if not Path(args.onnx).is_file():
        raise HwnasError(f"{args.onnx}: no such ONNX file")
    stats = measure_onnx(args.onnx, device=args.device, threads=args.threads)
    print(f"{stats['median_ms']:.4f} ms measured (median; p25 {stats['p25_ms']:.4f}, p75 {stats['p75_ms']:.4f}; "
          f"{args.device}, {args.threads} thread(s))")


def _export(args: argparse.Namespace) -> None:
    from hwnas.export import export_run

    out = args.out or str(Path(args.run).parent / "export")
    card = export_run(args.run, out, args.table, args.device, args.threads)
    print(json.dumps(card, indent=2))
    print(f"wrote {out}/model.onnx, {out}/model.ort and {out}/model_card.json")


if __name__ == "__main__":
    sys.exit(main())
