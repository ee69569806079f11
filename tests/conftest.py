"""Shared fixtures: a tiny space (trains and profiles in seconds) and its real latency table."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_SPACE = """\
name: tiny
input: {resolution: 8, channels: 1}
num_classes: 10
stem: {channels: 8, stride: 1}
ops: [mb_k3_e1, mb_k7_e6]
zero_where_allowed: true
stages:
  - {channels: 8, depth: 2, stride: 1}
  - {channels: 16, depth: 1, stride: 2}
head: {channels: 32}
"""


@pytest.fixture(scope="session")
def tiny_space_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("space") / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path


@pytest.fixture(scope="session")
def tiny_table_path(tiny_space_path, tmp_path_factory) -> Path:
    """Profiled for real with ONNX Runtime (6 entries, reference, 8 calibration subnets: enough for
    all 4 calibration terms), with the protocol's 300 rounds (a few seconds: the models are tiny; 60
    rounds once fitted the calibration at 7% on a loaded machine), once per session."""
    from hwnas.latency.table import save_table
    from hwnas.net.space import load_space
    from hwnas.profile.profile import profile_space

    table = profile_space(load_space(tiny_space_path), calibration_samples=8)
    path = tmp_path_factory.mktemp("table") / "tiny-cpu.json"
    save_table(table, path)
    return path


@pytest.fixture(scope="session")
def tiny_target_ms(tiny_space_path, tiny_table_path) -> float:
    """A target exactly at the predicted latency of the tiny space's median arch: the tiny space
    has 18 archs, so a target picked from its range alone may leave [0.9 T, T] empty."""
    from hwnas.latency.table import load_table
    from hwnas.net.arch import Arch
    from hwnas.net.space import load_space
    import itertools

    space = load_space(tiny_space_path)
    table = load_table(tiny_table_path, space)
    latencies = sorted(table.predict_ms(Arch(space, ops))
                       for ops in itertools.product(*(layer.candidates for layer in space.layers())))
    return round(latencies[len(latencies) // 2], 6) + 1e-6


@pytest.fixture(scope="session")
def tiny_search_args(tiny_space_path, tiny_table_path, tiny_target_ms) -> list[str]:
    """`hwnas search` options for the tiny space where a test is about something else than the
    derive: a feasible target, the window opened down to 0, and no measurement of the result."""
    return ["--model.space", str(tiny_space_path), "--model.table", str(tiny_table_path),
            "--model.target_ms", str(tiny_target_ms), "--model.derive.floor", "0", "--model.derive.measure", "false"]


@pytest.fixture(scope="session")
def quiet() -> list[str]:
    """Trainer options for a test run: no progress bar, a log line for every step however few."""
    return ["--trainer.enable_progress_bar", "false", "--trainer.log_every_n_steps", "1"]


@pytest.fixture(scope="session")
def tiny_run(tiny_space_path, tiny_table_path, tiny_target_ms, quiet, tmp_path_factory):
    """search → retrain → export of the tiny space through the CLI, a few batches each, once per session."""
    from hwnas.cli import main

    root = tmp_path_factory.mktemp("run")
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(root / "search"),
                 "--model.space", str(tiny_space_path), "--model.table", str(tiny_table_path),
                 "--model.target_ms", str(tiny_target_ms), "--model.one_shot.epochs", "1", "--trainer.max_epochs", "2",
                 "--trainer.limit_train_batches", "4", "--trainer.limit_val_batches", "1", *quiet]) == 0
    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(root / "search/arch.json"),
                 "--run_dir", str(root / "retrain"), "--trainer.max_epochs", "2", *quiet]) == 0
    assert main(["export", "--run", str(root / "retrain"), "--out", str(root / "export")]) == 0
    return root


@pytest.fixture(scope="session")
def tiny_kit_results(tiny_space_path, tmp_path_factory) -> Path:
    """A kit of the tiny space run here: its results.json, as a phone would bring it back."""
    from hwnas.net.space import load_space
    from hwnas.profile.kit import write_kit
    from hwnas.profile.kit_runner import run_kit

    folder = tmp_path_factory.mktemp("kit")
    write_kit(load_space(tiny_space_path), folder, device="cpu", calibration_samples=8)
    run_kit(folder, log=lambda line: None)
    return folder / "results.json"
