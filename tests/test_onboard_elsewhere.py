"""Onboarding a device from measurements made there: `hwnas onboard --kit` writes the reference and the
subnets to measure (spread over the calibration's features, not random), and `--measured` fits the
calibration on what the kit's run.py brought back, keeping the source table's entries."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from hwnas.cli import main
from hwnas.latency.calibration import TERMS
from hwnas.latency.calibration_design import design_features, spread_subnets
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.profile.kit_runner import RESULTS_FORMAT, RESULTS_VERSION
from hwnas.profile.onboard import POOR_FIT_MEAN_PCT

# a device whose whole-subnet latency is exactly the calibration's model of the source table's features
DEVICE = {"scale": 1.7, "per_op_ms": 0.004, "per_weight_mb_ms": 0.3, "offset_ms": 0.02}


@pytest.fixture
def phone_table(tiny_table_path, tmp_path) -> Path:
    """The tiny table as a published phone table: another device, its sum the prediction."""
    record = json.loads(tiny_table_path.read_text())
    record["device"] = {"kind": "mobile", "threads": 1, "precision": "float32", "device_label": "Phone A",
                        "source": "published"}
    record["calibration"] = None
    path = tmp_path / "phone-a.json"
    path.write_text(json.dumps(record))
    return path


def all_archs(table) -> list[Arch]:
    return [Arch(table.space, ops) for ops in itertools.product(*(layer.candidates for layer in table.space.layers()))]


def device_ms(table, archs) -> np.ndarray:
    return design_features(table, archs) @ np.array([DEVICE[term] for term in TERMS])


def measured_results(kit: Path, table) -> dict:
    """What the kit's run.py brings back from DEVICE: its manifest, the device, a median per model."""
    manifest = json.loads((kit / "manifest.json").read_text())
    archs = {name: Arch(table.space, tuple(model["ops"])) for name, model in manifest["models"].items()}
    ms = dict(zip(archs, device_ms(table, list(archs.values()))))
    return {"format": RESULTS_FORMAT, "version": RESULTS_VERSION, "manifest": manifest,
            "device": {"kind": "mobile", "threads": 1, "device_label": "Phone B"}, "protocol": {"rounds": 100},
            "stats": {name: {"median_ms": v, "p25_ms": v, "p75_ms": v} for name, v in ms.items()}}


def test_the_kit_holds_the_reference_and_subnets_spread_from_fastest_to_slowest(phone_table, tmp_path):
    assert main(["onboard", "--from", str(phone_table), "--kit", str(tmp_path / "kit"), "--subnets", "8"]) == 0
    manifest = json.loads((tmp_path / "kit/manifest.json").read_text())
    models = manifest["models"]
    table = load_table(phone_table)
    assert [m["kind"] for m in models.values()] == ["reference"] + ["subnet"] * 7
    assert models["reference"]["ops"] == list(table.reference_ops)
    assert all(m["file"].endswith(".ort") for m in models.values()) and "notes" not in manifest["device"]
    assert len({tuple(m["ops"]) for m in models.values()}) == 8
    fastest, slowest = table.extreme_archs()
    assert {fastest.ops, slowest.ops} <= {tuple(m["ops"]) for m in models.values()}


def test_onboarding_from_the_measured_kit_predicts_that_device(phone_table, tmp_path):
    assert main(["onboard", "--from", str(phone_table), "--kit", str(tmp_path / "kit"), "--subnets", "8"]) == 0
    source = load_table(phone_table)
    (tmp_path / "kit/results.json").write_text(json.dumps(measured_results(tmp_path / "kit", source)))
    out = tmp_path / "phone-b.json"
    assert main(["onboard", "--from", str(phone_table), "--measured", str(tmp_path / "kit/results.json"),
                 "--out", str(out)]) == 0
    table = load_table(out)
    assert table.device.get("device_label") == "Phone B" and table.entries == source.entries
    assert table.transferred_from.device.get("device_label") == "Phone A" and "entries of Phone A" in table.method
    assert len(table.calibration.points) == 8 and table.reference_ops == source.reference_ops
    archs = all_archs(table)  # 18: the 10 not measured are predicted as well as the 8 that were
    assert [table.predict_ms(arch) for arch in archs] == pytest.approx(list(device_ms(source, archs)), rel=1e-6)


@pytest.mark.parametrize("spread, noted", [(0.0, False), (0.13, True)])
def test_a_calibration_that_misses_its_own_subnets_is_written_with_a_note_to_profile(phone_table, tmp_path, capsys,
                                                                                    spread, noted):
    """Measurements off the calibration's model by ±`spread` in turn (a device that runs the ops in other
    proportions than the source's) still make a table, and past POOR_FIT_MEAN_PCT a one-line note."""
    assert main(["onboard", "--from", str(phone_table), "--kit", str(tmp_path / "kit"), "--subnets", "8"]) == 0
    results = measured_results(tmp_path / "kit", load_table(phone_table))
    for i, stats in enumerate(results["stats"].values()):
        stats.update({key: value * (1 + spread * (-1) ** i) for key, value in stats.items()})
    (tmp_path / "kit/results.json").write_text(json.dumps(results))
    capsys.readouterr()
    assert main(["onboard", "--from", str(phone_table), "--measured", str(tmp_path / "kit/results.json"),
                 "--out", str(tmp_path / "phone-b.json")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "misses the 8 subnets it was fitted on" in line]
    fit_pct = load_table(tmp_path / "phone-b.json").calibration.measured_error_pct()
    assert (fit_pct > POOR_FIT_MEAN_PCT) == noted and len(notes) == noted
    assert not noted or "measure more subnets there" in notes[0]


def test_the_subnets_are_the_first_ones_then_the_extremes_then_distinct_spread(tiny_table_path):
    table = load_table(tiny_table_path)
    pool = all_archs(table)
    first = pool[5]
    chosen = spread_subnets(table, pool, 6, first=[first])
    sums = [table.sum_ms(arch) for arch in pool]
    assert chosen[0] == first and len({arch.ops for arch in chosen}) == 6
    assert {chosen[1].ops, chosen[2].ops} == {pool[int(np.argmin(sums))].ops, pool[int(np.argmax(sums))].ops}
    assert len(spread_subnets(table, pool, 100)) == len(pool)  # a pool smaller than asked: all of it
