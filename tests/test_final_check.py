"""The final check: candidates from the window, successive halving with doubling epochs on the train and
arch splits, a time budget that stops it, and the contest recorded where the arch is delivered."""

from __future__ import annotations

import json

import pytest
import pytorch_lightning as pl

from hwnas.cli import main
from hwnas.data import DigitsDataModule
from hwnas.final_check.candidates import pick_candidates, window_pool
from hwnas.final_check.contest import Candidate, run_contest, train_on_the_arch_split
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.memory import arch_weight_count
from hwnas.records.arch_record import ArchRecord
from hwnas.records.search_checkpoint import FinalCheck


@pytest.fixture(scope="module")
def data():
    module = DigitsDataModule(resolution=8, channels=1, batch_size=64, arch_fraction=0.2)
    module.setup("fit")
    return module


@pytest.fixture(scope="module")
def table(tiny_table_path):
    return load_table(tiny_table_path)


def four_candidates(table) -> list[Candidate]:
    ops = [("mb_k3_e1", "zero", "mb_k3_e1"), ("mb_k7_e6", "mb_k7_e6", "mb_k7_e6"), ("zero", "zero", "mb_k7_e6"),
           ("mb_k7_e6", "zero", "mb_k3_e1")]
    return [Candidate(Arch(table.space, o), 0.0, table.predict_ms(Arch(table.space, o))) for o in ops]


class CountFits(pl.Callback):
    """Counts the trainings it joined: the search's CoreFollower joins the contest's the same way."""

    def __init__(self):
        self.fits = 0

    def setup(self, trainer, pl_module, stage):
        self.fits += stage == "fit"


def test_successive_halving_halves_the_candidates_and_doubles_the_epochs(table, data):
    fits = CountFits()
    contest = run_contest(four_candidates(table), data, FinalCheck(candidates=4, epochs=1, pool=4), callbacks=[fits])
    assert [r["epochs"] for r in contest.rungs] == [1, 2]  # a rung of two decides: no lone third rung
    assert [len(r["results"]) for r in contest.rungs] == [4, 2]
    first = contest.rungs[0]["results"]
    assert [r["accuracy"] for r in first] == sorted((r["accuracy"] for r in first), reverse=True)
    assert {tuple(r["ops"]) for r in contest.rungs[1]["results"]} == {tuple(r["ops"]) for r in first[:2]}
    assert contest.winner.ops == tuple(contest.rungs[1]["results"][0]["ops"])
    assert all(0 <= r["accuracy"] <= 1 for rung in contest.rungs for r in rung["results"])
    record = contest.to_json()
    assert len(record["candidates"]) == 4 and record["winner"] == list(contest.winner.ops)
    assert fits.fits == 4 + 2  # the given callbacks joined every candidate's training


def test_a_minutes_budget_ends_the_contest_after_a_rung(table, data):
    contest = run_contest(four_candidates(table), data, FinalCheck(candidates=4, epochs=1, pool=4, minutes=1e-6))
    assert len(contest.rungs) == 1 and contest.winner.ops == tuple(contest.rungs[0]["results"][0]["ops"])


def test_an_epoch_budget_ends_the_contest_before_the_rung_that_would_pass_it(table, data):
    # rung 1: 4 candidates × 1 epoch; rung 2 would add 2 × 2: 8 epochs in all, one more than the budget
    contest = run_contest(four_candidates(table), data, FinalCheck(candidates=4, epochs=1, pool=4, epoch_budget=7))
    assert [r["epochs"] for r in contest.rungs] == [1] and contest.winner.ops == tuple(contest.rungs[0]["results"][0]["ops"])


def test_trainings_score_each_candidate_by_the_mean_of_its_seeds_and_count_in_the_budget(table, data):
    fits = CountFits()
    two = FinalCheck(candidates=4, epochs=1, trainings=2, pool=4, epoch_budget=15)  # rung 2 would make 16
    contest = run_contest(four_candidates(table), data, two, seed=3, callbacks=[fits])
    assert len(contest.rungs) == 1 and fits.fits == 4 * 2
    for result in contest.rungs[0]["results"]:
        arch = Arch(table.space, tuple(result["ops"]))
        alone = [train_on_the_arch_split(arch, data, 1, seed, "cpu") for seed in (3, 4)]
        assert result["accuracies"] == [t.accuracy for t in alone]
        assert result["accuracy"] == pytest.approx(sum(t.accuracy for t in alone) / 2)
        assert result["cross_entropies"] == [t.cross_entropy for t in alone] and all(t.cross_entropy > 0 for t in alone)


def test_select_refuses_an_epoch_budget_below_its_first_rung_in_one_line(capsys):
    assert main(["select", "--ckpt", "no/such.ckpt", "--target_ms", "1", "--final_check", "4",
                 "--final_check_epoch_budget", "3"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "hwnas: error: --final_check_epoch_budget is a whole number of epochs, at least the first rung's "
        "4 candidates × 1 epochs × 1 training(s) = 4: got 3"]


def test_select_names_its_own_final_check_option_in_an_error(capsys):
    assert main(["select", "--ckpt", "no/such.ckpt", "--target_ms", "1", "--final_check", "-1"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "hwnas: error: --final_check is a whole number ≥ 0, got -1"]


def test_the_pool_stays_inside_its_window_and_keeps_the_given_arch(table):
    fastest, slowest = table.latency_range_ms()
    low, high = fastest + 0.3 * (slowest - fastest), fastest + 0.7 * (slowest - fastest)
    given = Arch(table.space, ("mb_k3_e1", "mb_k3_e1", "mb_k3_e1"))
    pool = window_pool(table, low, high, 6, seed=0, always=(given,))
    assert pool[0] == given and len(set(pool)) == len(pool)
    assert all(low <= table.predict_ms(arch) <= high for arch in pool[1:])


def test_candidates_by_parameters_are_the_largest_and_by_both_the_mean_rank(table):
    pool = [candidate.arch for candidate in four_candidates(table)]
    by_size = pick_candidates(pool, table, lambda arch: 0.0, FinalCheck(candidates=2, rank_by="parameters"))
    assert [c.arch for c in by_size] == sorted(pool, key=arch_weight_count, reverse=True)[:2]
    favoured = pool[0]  # the smallest, but the supernet's favourite
    both = pick_candidates(pool, table, lambda arch: 1.0 if arch == favoured else 0.0,
                           FinalCheck(candidates=4, rank_by="both"))
    assert favoured in [c.arch for c in both] and both[0].score >= both[-1].score


def test_a_search_with_a_final_check_records_the_contest_in_its_arch(tiny_search_args, quiet, tmp_path):
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path), *tiny_search_args,
                 *quiet, "--model.one_shot.epochs", "1", "--trainer.max_epochs", "2",
                 "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "0",
                 "--model.derive.final_check.candidates", "2", "--model.derive.final_check.pool", "4"]) == 0
    record = ArchRecord.load(tmp_path / "arch.json")
    contest = record.provenance.final_check
    assert contest and len(contest["candidates"]) == 2 and [r["epochs"] for r in contest["rungs"]] == [1]
    assert list(record.arch.ops) == contest["winner"]
    settings = json.loads((tmp_path / "search.json").read_text())["settings"]
    assert settings["derive"]["final_check"]["candidates"] == 2


@pytest.mark.parametrize("options, says", [
    ({"candidates": -1}, "candidates is a whole number ≥ 0"), ({"epochs": 0}, "epochs is a whole number ≥ 1"),
    ({"candidates": 9, "pool": 8}, "more than its pool"), ({"minutes": 0}, "minutes is a positive number"),
    ({"rank_by": "luck"}, "rank_by is one of supernet, parameters, both"),
    ({"candidates": 4, "epochs": 2, "epoch_budget": 7}, "at least the first rung's 4 candidates × 2 epochs × 1"),
    ({"trainings": 0}, "trainings is a whole number ≥ 1"),
    ({"epoch_budget": 2.5}, "epoch_budget is a whole number")])
def test_a_bad_final_check_option_is_one_line(options, says):
    from hwnas.errors import HwnasError

    with pytest.raises(HwnasError, match=says):
        FinalCheck(**options)
