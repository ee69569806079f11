"""`hwnas retrain`: the retrain module's LightningCLI (training/stage_cli.py); the test split is
evaluated once, after the fit."""

from __future__ import annotations

from pytorch_lightning.cli import LightningArgumentParser

from hwnas.records.arch_record import ArchRecord
from hwnas.retrain.module import RetrainModule
from hwnas.training.stage_cli import StageCLI, run_stage


class RetrainCLI(StageCLI):
    stage, space_source = "retrain", "arch"
    space_of = staticmethod(lambda arch_path: ArchRecord.load(arch_path).arch.space)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument("--arch", type=str, required=True, help="arch.json written by `hwnas search`")
        parser.link_arguments("arch", "model.arch")
        super().add_arguments_to_parser(parser)


def run_retrain(args: list[str]) -> None:
    run_stage(RetrainCLI, RetrainModule, args, after_fit=lambda cli: cli.trainer.test(cli.model, cli.datamodule,
                                                                                        verbose=False))
