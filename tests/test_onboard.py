"""Onboarding: another device's table plus a few subnets measured here give a table of this
machine, stamped with it and marked as transferred; --skip_if_current does nothing twice."""

from __future__ import annotations

import itertools
import json
import statistics
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.measuring import device_identity
from hwnas.measuring.timing import runtime_metadata
from hwnas.net.arch import Arch
from hwnas.latency.table_ref import prediction_hash

# 8 subnets, 1,000 rounds each (~0.02 ms a round): with both cores busy elsewhere, the protocol's 300
# rounds of so small a subnet are too few for the calibration fit to stay inside its 10% bound
FAST = ["--subnets", "8", "--rounds", "1000"]


@pytest.fixture
def other_device_table(tiny_table_path, tmp_path) -> str:
    """The tiny table as another CPU would have measured it: every entry and the reference 2x slower."""
    record = json.loads(tiny_table_path.read_text())
    record["device"]["cpu"] = "Intel(R) Xeon(R) Platinum 8375C"
    for stats in record["entries"].values():
        stats.update({name: 2 * value for name, value in stats.items()})
    record["reference"]["median_ms"] *= 2
    path = tmp_path / "xeon.json"
    path.write_text(json.dumps(record))
    return str(path)


def relative_predictions(table) -> list[float]:
    """Every arch's prediction over the table's reference: free of the machine's speed state."""
    space = table.space
    return [table.predict_ms(Arch(space, ops)) / table.reference_ms
            for ops in itertools.product(*(layer.candidates for layer in space.layers()))]


def test_onboarding_keeps_the_entries_and_calibrates_them_for_this_machine(other_device_table, tiny_table_path,
                                                                           tmp_path, capsys):
    out = tmp_path / "local" / "tiny-cpu.json"
    assert main(["onboard", "--from", other_device_table, "--out", str(out), *FAST]) == 0
    table, source = load_table(out), load_table(other_device_table)
    assert table.device.get("cpu") == runtime_metadata("cpu", 1)["cpu"] and table.entries == source.entries
    assert table.transferred_from.sha256 == prediction_hash(json.loads(Path(other_device_table).read_text()))
    assert table.transferred_from.device.get("cpu").startswith("Intel") and len(table.calibration.points) == 8
    assert "entries of Intel" in table.method
    # the 2x entries are undone by the calibration: relative to the reference timed beside them, about
    # the predictions of this machine's own full profile (not 2x them). A median over the 18 archs: a
    # tiny reference's median moves by 10-30% between two runs on these machines.
    here, onboarded = relative_predictions(load_table(tiny_table_path)), relative_predictions(table)
    assert 0.7 < statistics.median(a / b for a, b in zip(onboarded, here)) < 1.4


def test_onboard_skip_if_current_copies_a_table_of_this_machine_and_then_does_nothing(tiny_table_path, tmp_path,
                                                                                       monkeypatch, capsys):
    """"This machine's" is the device identity and the speed (reference within ±25%); the speed part
    is tested in test_device_identity.py, and on these machines a tiny reference can move by more than
    that between two measurements seconds apart: here any speed counts as this machine's."""
    monkeypatch.setattr(device_identity, "REFERENCE_TOLERANCE", 100.0)
    out = tmp_path / "local" / "tiny-cpu.json"
    for said in ("was measured on this machine: copied it", "is up to date"):
        assert main(["onboard", "--from", str(tiny_table_path), "--out", str(out), "--skip_if_current", *FAST]) == 0
        assert said in capsys.readouterr().out
    assert out.read_bytes() == tiny_table_path.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--subnets", "1"], "--subnets must be in 2-1000"),
    (["--rounds", "0"], "--rounds must be at least 1"),
])
def test_a_bad_onboarding_option_is_one_line_before_any_measurement(other_device_table, tmp_path, capsys, args,
                                                                    message):
    assert main(["onboard", "--from", other_device_table, "--out", str(tmp_path / "t.json"), *args]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "t.json").exists()
