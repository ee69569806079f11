"""A training follows the free cores while it runs: fewer torch threads when another process starts beside
it, more when that one ends; --threads is the user's and stays."""

import logging
import time
from types import SimpleNamespace

import pytest
import torch

import hwnas.data.cores as cores
import hwnas.training.core_follower as core_follower
from hwnas.training.core_follower import CoreFollower


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(2)))
    monkeypatch.setattr(cores, "LOOK_INTERVAL_S", 0.0)
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_a_training_gives_up_the_cores_another_takes_and_takes_them_back_when_it_ends(two_cores, monkeypatch,
                                                                                       caplog):
    follower = CoreFollower(every_s=0.0)
    torch.set_num_threads(2)  # what it took on an idle machine
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 2)  # another training took both cores since
    with caplog.at_level(logging.INFO):
        follower.on_train_batch_start(None, None, None, 0)
    assert torch.get_num_threads() == 1
    assert "other work now takes 2 of 2 cores: 2 → 1 torch thread(s)" in caplog.text
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 1)  # the other follows too: one core each
    follower.on_train_batch_start(None, None, None, 1)
    assert torch.get_num_threads() == 1
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 0)  # it ended
    follower.on_train_batch_start(None, None, None, 2)
    assert torch.get_num_threads() == 2


def test_it_looks_only_every_so_often(two_cores, monkeypatch):
    follower = CoreFollower(every_s=3600.0)
    torch.set_num_threads(2)
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 2)
    follower.on_train_batch_start(None, None, None, 0)
    assert torch.get_num_threads() == 2


def test_its_looks_are_drawn_apart_so_that_two_runs_started_together_do_not_count_at_the_same_instant():
    follower, now = CoreFollower(every_s=10.0), time.monotonic()
    gaps = [follower._after(now) - now for _ in range(50)]
    assert 5.0 <= min(gaps) <= max(gaps) <= 15.0 and len(set(gaps)) == 50


@pytest.mark.parametrize("devices, runnable", [(2, 2), (1, None)])
def test_ddp_ranks_and_a_system_that_does_not_count_runnable_tasks_keep_their_threads(two_cores, monkeypatch,
                                                                                        devices, runnable):
    follower = CoreFollower(every_s=0.0)
    torch.set_num_threads(2)
    monkeypatch.setattr(core_follower, "others_runnable_now", lambda: runnable)
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 2)  # what a look would see
    follower.setup(SimpleNamespace(num_devices=devices), None, "fit")
    follower.on_train_batch_start(None, None, None, 0)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("threads, followed", [([], True), (["--threads", "1"], False)])
def test_only_a_run_whose_threads_hwnas_chose_follows_the_cores(tiny_run, quiet, tmp_path, threads, followed):
    from hwnas.cli import main

    assert main(["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(tiny_run / "search/arch.json"),
                 "--run_dir", str(tmp_path / "retrain"), "--trainer.max_epochs", "1",
                 "--trainer.limit_train_batches", "1", *threads, "--trainer.callbacks+=cli_callbacks.SaveCallbackNames",
                 "--trainer.callbacks.path", str(tmp_path / "callbacks.txt"), *quiet]) == 0
    assert ("CoreFollower" in (tmp_path / "callbacks.txt").read_text().split()) == followed
