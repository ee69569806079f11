"""`hwnas select` end to end on the tiny space: the session's short search run (conftest tiny_run),
then evolution and random search under a latency target; bad targets are one-line errors."""

from __future__ import annotations

import json

import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.net.space import load_space
from hwnas.records.arch_record import ArchRecord

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def target_ms(tiny_space_path, tiny_table_path) -> float:
    """Halfway through the tiny space's latency range: some archs fit, some do not."""
    fastest, slowest = load_table(tiny_table_path, load_space(tiny_space_path)).latency_range_ms()
    return (fastest + slowest) / 2


@pytest.fixture(scope="module")
def selected(tiny_run, target_ms):
    assert main(["select", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(target_ms),
                 "--method", "both", "--population", "4", "--cycles", "6", "--sample", "2",
                 "--calibration_batches", "1"]) == 0
    return tiny_run / "select"  # the default: RUN/select


def test_select_writes_the_best_feasible_arch_a_summary_and_a_pareto_plot(selected, target_ms, tiny_table_path):
    summary = json.loads((selected / "select.json").read_text())
    arch = ArchRecord.load(selected / "arch.json").arch
    everything = [e for method in summary["methods"].values() for e in method["history"]]
    assert set(summary["methods"]) == {"evolution", "random"}
    assert all(method["evaluations"] == 10 for method in summary["methods"].values())  # same budget: P + C
    assert all(e["predicted_ms"] <= target_ms for e in everything)
    assert list(arch.ops) == summary["chosen"]["ops"]
    assert summary["chosen"]["score"] == max(e["score"] for e in everything)  # minus the arch-split cross-entropy
    assert all(0 <= e["accuracy"] <= 1 and e["score"] < 0 for e in everything)
    assert load_table(tiny_table_path, arch.space).predict_ms(arch) <= target_ms
    assert (selected / "pareto.png").read_bytes().startswith(PNG_SIGNATURE)


def test_select_with_a_final_check_delivers_the_contest_winner_and_records_it(tiny_run, target_ms, tmp_path):
    assert main(["select", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(target_ms),
                 "--population", "4", "--cycles", "4", "--sample", "2", "--calibration_batches", "1",
                 "--final_check", "2", "--out", str(tmp_path)]) == 0
    record = ArchRecord.load(tmp_path / "arch.json")
    contest = record.provenance.final_check
    assert len(contest["candidates"]) == 2 and [len(rung["results"]) for rung in contest["rungs"]] == [2]
    assert list(record.arch.ops) == contest["winner"] == contest["rungs"][-1]["results"][0]["ops"]
    assert json.loads((tmp_path / "select.json").read_text())["chosen"]["method"] == "evolution + final check"


def test_an_infeasible_target_is_a_one_line_error_naming_the_range(tiny_run, tiny_space_path, tiny_table_path,
                                                                  tmp_path, capsys):
    fastest, slowest = load_table(tiny_table_path, load_space(tiny_space_path)).latency_range_ms()
    assert main(["select", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--target_ms", str(fastest / 10),
                 "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and f"{fastest:.4f}-{slowest:.4f} ms" in error
    assert not (tmp_path / "arch.json").exists()
