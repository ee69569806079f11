"""DDP on the CPU (two processes, gloo): the ranks see different batches but sample the same paths
and average every gradient, alphas included, so they end with the same alphas, bit for bit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

HWNAS = Path(sys.executable).parent / "hwnas"
TESTS = Path(__file__).parent


@pytest.mark.parametrize("options", [
    ["--model.algorithm.gate", "two", "--trainer.strategy", "ddp"],
    ["--model.algorithm", "Reinforce"],  # the recipe's strategy auto, as `make search DEVICES=2` runs it
], ids=["two-path-ddp", "reinforce-auto"])
def test_two_ranks_end_with_equal_alphas_after_several_arch_steps(tiny_search_args, tmp_path, options):
    """1 warm-up epoch, then 2 search epochs of 3 batches: 6 arch steps on each rank. The two-path
    rescale and the REINFORCE baseline must run identically everywhere."""
    command = [str(HWNAS), "search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "run"),
               *tiny_search_args, "--model.one_shot.epochs", "1", "--model.algorithm.arch_lr", "0.02", *options,
               "--trainer.max_epochs", "3", "--trainer.limit_train_batches", "3", "--trainer.limit_val_batches", "1",
               "--trainer.devices", "2", "--trainer.enable_progress_bar", "false",
               "--trainer.callbacks+=cli_callbacks.SaveRankState", "--trainer.callbacks.folder", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    # the last tiny layer has no `zero`, so it takes every arch step; the others skip the steps
    # in which they sampled zero (supernet.latency_probabilities), on both ranks alike
    assert all(state["ddp_finds_unused"] and state["alphas_in_ddp"] and state["arch_steps"][-1] == 6
               and max(state["arch_steps"]) == 6 for state in ranks)
    assert ranks[0]["arch_steps"] == ranks[1]["arch_steps"]
    assert all(torch.equal(a, b) for a, b in zip(ranks[0]["alphas"], ranks[1]["alphas"]))
    assert ranks[0]["baseline"] is None and ranks[1]["baseline"] is None or \
        torch.equal(ranks[0]["baseline"], ranks[1]["baseline"])
    assert max(float(a.abs().max()) for a in ranks[0]["alphas"]) > 0.02  # they moved (init std 1e-3)
    assert (tmp_path / "run/arch.json").is_file()
