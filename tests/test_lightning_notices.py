"""A normal `hwnas search` prints no Lightning notices meant for someone else (the refusals of
runs that would train nothing are in test_bad_inputs.py)."""

from __future__ import annotations

from hwnas.cli import main


def test_a_search_prints_no_lightning_notices(tiny_search_args, tmp_path, capfd):
    """Lightning's litlogger tip, its warning about `args` beside sys.argv and (since the modules
    move batches to channels-last on CUDA) its note on the batch hook came with every run."""
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path), *tiny_search_args,
                 "--model.one_shot.epochs", "0", "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "1",
                 "--trainer.limit_val_batches", "0", "--trainer.enable_progress_bar", "false"]) == 0
    printed = "".join(capfd.readouterr())
    assert "litlogger" not in printed and "args parameter" not in printed and "on_after_batch_transfer" not in printed
