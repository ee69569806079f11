"""A stage's outputs are one transaction: complete or absent, in their own place, and no debris after a
signal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from hwnas.cli import main
from hwnas.records.run_folder import RunFolder

HWNAS = Path(sys.executable).parent / "hwnas"


def test_an_export_into_a_link_replaces_the_folder_it_names_and_keeps_the_link(tiny_run, tmp_path):
    """The link itself was replaced by a folder, and a `.partial.replaced` link was left beside it."""
    (tmp_path / "real").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "real")
    for _ in range(2):  # the second export replaces the first
        assert main(["export", "--run", str(tiny_run / "retrain"), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out").is_symlink() and (tmp_path / "real" / "model_card.json").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out", "real"]


def test_a_front_run_again_with_other_budgets_leaves_no_arch_of_the_earlier_ones(tiny_run, tiny_table_path, tmp_path):
    """Each device's <T>ms/arch.json was written beside the old ones: front.json no longer listed them."""
    command = ["front", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--table", str(tiny_table_path),
               "--pool", "10", "--no_measure", "--out", str(tmp_path / "front")]
    assert main([*command, "--points", "3"]) == 0 and main([*command, "--points", "2"]) == 0
    listed = {row["arch_json"] for device in json.loads((tmp_path / "front/front.json").read_text())["devices"].values()
              for row in device["chosen"] if row["ops"]}
    assert {str(path) for path in (tmp_path / "front").rglob("arch.json")} == listed


def test_a_checkpoint_outside_a_run_folder_derives_beside_itself(tiny_run, tmp_path, monkeypatch):
    """A checkpoint in the working folder made derive write /derive/arch.json, at the filesystem root."""
    shutil.copy(tiny_run / "search/checkpoints/last.ckpt", tmp_path / "last.ckpt")
    assert RunFolder.of_checkpoint(tmp_path / "last.ckpt").beside("derive") == tmp_path.parent / f"{tmp_path.name}-derive"
    assert RunFolder.of_checkpoint(tiny_run / "search/checkpoints/last.ckpt").beside("derive") == tiny_run / "derive"


def test_runs_not_named_after_their_stage_get_folders_of_their_own(tmp_path):
    """runs/a and runs/b both wrote runs/derive."""
    assert RunFolder(tmp_path / "a").beside("derive") != RunFolder(tmp_path / "b").beside("derive")


def test_a_sigterm_during_an_import_waits_for_the_import_to_end(tmp_path):
    """A SIGTERM while onnx's C extension was being imported crashed validate-table (SIGSEGV, a temporary folder
    left): the handler's exception must not be raised inside an import, but right after it."""
    (tmp_path / "sends_sigterm.py").write_text("import os, signal, time\nos.kill(os.getpid(), signal.SIGTERM)\n"
                                               "for _ in range(50):\n    time.sleep(0.002)\n")
    program = ("import signal, time\n"
               "from hwnas.errors import Terminated, raise_terminated\n"
               "signal.signal(signal.SIGTERM, raise_terminated)\n"
               "try:\n    import sends_sigterm\n    print('imported', flush=True)\n    time.sleep(30)\n"
               "except Terminated:\n    print('terminated', flush=True)\n")
    done = subprocess.run([sys.executable, "-c", program], env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["imported", "terminated"], done.stderr


def test_sigterm_during_a_validation_is_one_line_143_and_leaves_no_temporary_folder(tiny_table_path, tmp_path):
    """It exited 143 without a word and left its hwnas-measure-* folders in the temporary directory."""
    table = tmp_path / "t.json"
    shutil.copy(tiny_table_path, table)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen([str(HWNAS), "validate-table", str(table), "--samples", "5", "--rounds", "100000"],
                               env={**os.environ, "TMPDIR": str(temporary)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(temporary.glob("hwnas-measure-*")) and time.monotonic() < deadline:
        time.sleep(0.2)  # until the first measurement has begun
    assert any(temporary.glob("hwnas-measure-*"))
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143 and err.strip().splitlines() == ["hwnas: interrupted by SIGTERM"]
    assert list(temporary.glob("hwnas-*")) == [] and table.read_bytes() == tiny_table_path.read_bytes()  # untouched
