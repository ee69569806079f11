"""`hwnas front`: one supernet scored once, priced on every device's table; each device's chosen
arch fits that device's budget."""

from __future__ import annotations

import json

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.records.arch_record import ArchRecord
from hwnas.scoring import subnet_eval


def other_device_table(tiny_table_path, path):
    """The tiny table as another device would measure it: no calibration, and its 3×3 ops 5× dearer
    (so it prefers other archs than the tiny table's device)."""
    data = json.loads(tiny_table_path.read_text())
    data["device"]["cpu"] = "Some Other CPU 9000"
    data["calibration"] = None
    for key, entry in data["entries"].items():
        if "k3" in key:
            for stat in ("median_ms", "p25_ms", "p75_ms"):
                entry[stat] *= 5
    path.write_text(json.dumps(data))
    return path


def test_front_scores_the_pool_once_and_each_devices_choice_fits_it(tiny_run, tiny_table_path, tmp_path, monkeypatch,
                                                                    capsys):
    other = other_device_table(tiny_table_path, tmp_path / "other.json")
    calls = []
    score = subnet_eval.SubnetScorer.__call__

    def counted(self, arch):
        calls.append(arch)
        return score(self, arch)
    monkeypatch.setattr(subnet_eval.SubnetScorer, "__call__", counted)
    assert main(["front", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--table", str(tiny_table_path),
                 "--table", str(other), "--points", "4", "--pool", "30", "--no_measure",
                 "--out", str(tmp_path / "front")]) == 0
    summary = json.loads((tmp_path / "front" / "front.json").read_text())
    assert len(calls) == len(set(calls)) == summary["scored"] == summary["pool"]  # once each, for both devices
    for name, path in [(tiny_table_path.stem, tiny_table_path), ("other", other)]:
        table = load_table(path)
        chosen = [row for row in summary["devices"][name]["chosen"] if row["ops"]]
        assert chosen, name
        for row in chosen:
            record = ArchRecord.load(row["arch_json"])
            assert table.predict_ms(record.arch) <= row["target_ms"] * (1 + 1e-9)  # feasible on its own device
            assert record.provenance.table.path == str(path.resolve()) and record.provenance.stage == "front"
    matrix = summary["cross_device_ms"]
    assert {tuple(sorted(row["predicted_ms"])) for row in matrix} == {tuple(sorted([tiny_table_path.stem, "other"]))}
    assert (tmp_path / "front" / "front.png").stat().st_size > 0


def test_front_measures_the_chosen_archs_on_this_machines_table(tiny_run, tiny_table_path, tmp_path):
    assert main(["front", "--ckpt", str(tiny_run / "search/checkpoints/last.ckpt"), "--table", str(tiny_table_path),
                 "--points", "2", "--pool", "10", "--out", str(tmp_path / "front")]) == 0
    rows = json.loads((tmp_path / "front" / "front.json").read_text())["devices"][tiny_table_path.stem]["chosen"]
    for row in rows:
        record = ArchRecord.load(row["arch_json"]).provenance
        assert row["measured_at_table_speed_ms"] == record.measurement.at_table_speed_ms > 0


def test_two_tables_with_one_file_name_get_their_folder_in_front(tmp_path):
    """This machine's table and the reference machine's are both demo-cpu.json (local/ and the committed one)."""
    from pathlib import Path

    from hwnas.front.front import device_names

    assert device_names([Path("latency_tables/local/demo-cpu.json"), Path("latency_tables/demo-cpu.json")]) == \
        ["local-demo-cpu", "latency_tables-demo-cpu"]
    assert device_names([Path("a/x.json"), Path("b/y.json")]) == ["x", "y"]
