"""A run folder is a transaction: an interrupted stage exits non-zero and presents no record, an
earlier run's records are moved aside (and said so), one writer at a time, a resumed search keeps
its earlier metrics, and an interrupted export leaves the previous complete export."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hwnas.records import run_folder
from hwnas.cli import main
import hwnas.export.export

SEARCH = ["search", "--config", "recipes/search_demo.yaml", "--model.one_shot.epochs", "1",
          "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "1"]


def stale_record(run_dir: Path) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "arch.json").write_text('{"from": "an earlier run"}')


def test_sigterm_mid_search_exits_non_zero_with_no_record_and_says_how_to_resume(tiny_search_args, tmp_path):
    """`timeout` and schedulers send SIGTERM: Lightning turned it into exit status 0, and the earlier
    run's arch.json stayed where `search && retrain` would pick it up."""
    run_dir = tmp_path / "run"
    stale_record(run_dir)
    command = [sys.executable, "-m", "hwnas", *SEARCH, "--run_dir", str(run_dir), *tiny_search_args,
               "--trainer.max_epochs", "500", "--trainer.enable_progress_bar", "false"]
    search = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in search.stdout:  # one line per epoch (stdout is a pipe): stop it in its third epoch
        if line.startswith("epoch 2/"):
            search.send_signal(signal.SIGTERM)
            break
    _, err = search.communicate(timeout=300)
    assert search.returncode == 128 + signal.SIGTERM
    said = [line for line in err.splitlines() if line.startswith("hwnas: ")]
    assert len(said) == 1 and "SIGTERM" in said[0] and f"--ckpt_path {run_dir}/checkpoints/last.ckpt" in said[0]
    assert not (run_dir / "arch.json").exists() and not (run_dir / "search.json").exists()
    (aside,) = run_dir.glob("previous-*")
    assert json.loads((aside / "arch.json").read_text()) == {"from": "an earlier run"}


def test_a_stage_into_a_used_folder_moves_the_earlier_records_aside_and_says_so(tiny_search_args, quiet, tmp_path,
                                                                               capsys):
    run_dir = tmp_path / "run"
    stale_record(run_dir)
    assert main([*SEARCH, "--run_dir", str(run_dir), *tiny_search_args, *quiet, "--trainer.max_epochs", "2"]) == 0
    (aside,) = run_dir.glob("previous-*")
    assert f"held an earlier run's arch.json: moved to {aside}" in capsys.readouterr().out
    assert json.loads((run_dir / "arch.json").read_text())["provenance"]["stage"] == "search"


def test_a_second_writer_of_a_run_folder_is_refused_in_one_line(tiny_search_args, quiet, tmp_path, capsys):
    run_dir = tmp_path / "run"
    with run_folder.writing(run_dir, resuming=False):  # another search holds the folder
        assert main([*SEARCH, "--run_dir", str(run_dir), *tiny_search_args, *quiet, "--trainer.max_epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "being written by another hwnas process" in err and len(err.strip().splitlines()) == 1
    assert not (run_dir / "logs").exists() and not (run_dir / "arch.json").exists()


def epochs_in_metrics(run_dir: Path) -> list[int]:
    with open(run_dir / "logs" / "metrics.csv", newline="") as file:
        return sorted({int(float(row["epoch"])) for row in csv.DictReader(file) if row.get("train/ce")})


def test_a_resumed_search_keeps_the_metrics_of_its_earlier_epochs(tiny_search_args, quiet, tmp_path):
    """Lightning's CSV writer deleted metrics.csv when the resumed run opened it."""
    run_dir = tmp_path / "run"
    assert main([*SEARCH, "--run_dir", str(run_dir), *tiny_search_args, *quiet, "--trainer.max_epochs", "2"]) == 0
    assert epochs_in_metrics(run_dir) == [0, 1]
    assert main([*SEARCH, "--run_dir", str(run_dir), *tiny_search_args, *quiet, "--trainer.max_epochs", "4",
                 "--ckpt_path", str(run_dir / "checkpoints/last.ckpt")]) == 0
    assert epochs_in_metrics(run_dir) == [0, 1, 2, 3]


def test_an_export_interrupted_midway_leaves_the_previous_complete_export(tiny_run, tmp_path, monkeypatch):
    """It used to leave the new model.onnx beside the old model_card.json (another arch)."""
    out = tmp_path / "export"
    assert main(["export", "--run", str(tiny_run / "retrain"), "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def killed(*args, **kwargs):  # after model.onnx and model.ort are written, before the card
        raise KeyboardInterrupt
    monkeypatch.setattr(hwnas.export.export, "measure_at_table_speed", killed)
    assert main(["export", "--run", str(tiny_run / "retrain"), "--out", str(out)]) == 130
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert os.listdir(tmp_path) == ["export"]  # no staging folder left beside it


def test_a_plain_trainer_fit_writes_the_records_hwnas_search_writes(tiny_space_path, tiny_table_path,
                                                                    tiny_search_args, quiet, tmp_path):
    """The records are written by the module's own callback, not by the CLI (search/record.py)."""
    import pytorch_lightning as pl
    import yaml

    from hwnas.data import DigitsDataModule
    from hwnas.latency.objective import LossConfig
    from hwnas.records.search_checkpoint import DeriveSettings
    from hwnas.search import algorithms, one_shot
    from hwnas.search.module import SearchModule

    settings = ["--model.one_shot.epochs", "1", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "3",
                "--trainer.limit_val_batches", "1"]
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "cli"),
                 *tiny_search_args, *quiet, *settings]) == 0
    recipe = yaml.safe_load(open("recipes/search_demo.yaml"))
    options = dict(zip(tiny_search_args[::2], tiny_search_args[1::2]))
    model = recipe["model"]
    rule, algorithm = (getattr(package, model[field]["class_path"].rpartition(".")[2])
                       for package, field in [(one_shot, "one_shot"), (algorithms, "algorithm")])
    pl.seed_everything(recipe["seed_everything"], verbose=False)
    search = SearchModule(str(tiny_space_path), str(tiny_table_path), float(options["--model.target_ms"]),
                          LossConfig(**model["loss"]), rule(**{**model["one_shot"]["init_args"], "epochs": 1}),
                          algorithm(**model["algorithm"]["init_args"]), DeriveSettings(floor=0.0, measure=False))
    data = DigitsDataModule(**recipe["data"]["init_args"], resolution=8, channels=1)
    pl.Trainer(default_root_dir=tmp_path / "plain", max_epochs=2, limit_train_batches=3, limit_val_batches=1,
               accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False).fit(search, data)
    (cli_arch, plain_arch), (cli_summary, plain_summary) = (
        [json.loads((tmp_path / run / name).read_text()) for run in ("cli", "plain")]
        for name in ("arch.json", "search.json"))
    cli_arch["provenance"].pop("checkpoint"), plain_arch["provenance"].pop("checkpoint")
    assert plain_arch == cli_arch and plain_summary == cli_summary


def test_a_plain_trainer_runs_the_checks_before_training(tiny_space_path, tiny_table_path, tiny_target_ms, tmp_path):
    """A search whose warm-up outlasts the run would write the alphas' initial noise as its arch:
    the module's callback refuses it at setup, before a batch is trained, without the CLI."""
    import pytorch_lightning as pl

    from hwnas.data import DigitsDataModule
    from hwnas.errors import HwnasError
    from hwnas.search.module import SearchModule

    from hwnas.records.search_checkpoint import DeriveSettings
    from hwnas.search.one_shot import Average

    search = SearchModule(str(tiny_space_path), str(tiny_table_path), tiny_target_ms, one_shot=Average(epochs=2),
                          derive=DeriveSettings(floor=0.0))
    trainer = pl.Trainer(default_root_dir=tmp_path, max_epochs=2, accelerator="cpu", logger=False,
                         enable_progress_bar=False, enable_model_summary=False)
    with pytest.raises(HwnasError, match="--model.one_shot.epochs 2 ≥ --trainer.max_epochs 2"):
        trainer.fit(search, DigitsDataModule(resolution=8, channels=1, batch_size=32, arch_fraction=0.2))
    assert trainer.global_step == 0 and not (tmp_path / "arch.json").exists()
