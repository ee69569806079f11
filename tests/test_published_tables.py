"""Published per-layer tables become hwnas tables that predict the published totals exactly: both forms
(costs relative to skip plus a base, HW-NAS-Bench's; per-block costs, ProxylessNAS's, with a fixed first
block left out), checked against the space, stamped with where they came from. Small tables written
here; the real ones in ../shared (Pixel 3, Raspberry Pi 4, Pixel 1) when they are present."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.latency.table import load_table
from hwnas.net.arch import Arch
from hwnas.net.space import load_space, parse_op
from fake_published import published
from hwnas.profile.published import hwnas_op_name

REAL = Path(__file__).resolve().parents[2] / "shared/data/real-devices"
# A space of FBNet's ops in which skip is identity (layers 0, 2) and projects (layer 1), and one with a
# fixed first block (one candidate) as ProxylessNAS's mobile space has.
SMALL_FBNET = """\
name: small_fbnet
input: {resolution: 8, channels: 3}
num_classes: 10
stem: {channels: 8, stride: 1}
ops: [mb_k3_e1_g1, mb_k3_e1_g2, mb_k5_e3, skip]
stages:
  - {channels: 8, depth: 1, stride: 1}
  - {channels: 16, depth: 2, stride: 2}
head: {channels: 32}
"""
SMALL_PROXYLESS = """\
name: small_proxyless
input: {resolution: 16, channels: 3}
num_classes: 10
stem: {channels: 8, stride: 2}
ops: [mb_k3_e3, mb_k5_e6]
zero_where_allowed: true
stages:
  - {channels: 8, depth: 1, stride: 1, ops: [mb_k3_e1]}
  - {channels: 16, depth: 2, stride: 2}
head: {channels: 32}
"""
FBNET_NAMES = {"mb_k3_e1_g1": "k3_e1", "mb_k3_e1_g2": "k3_e1_g2", "mb_k5_e3": "k5_e3", "skip": "skip"}


def published_total(table: dict, ops: tuple[str, ...], names: dict[str, str], fixed: set[int]) -> float:
    listed = [i for i in range(len(ops)) if i not in fixed]
    value = {(n, o["op"]): next(iter(v for k, v in o.items() if k != "op")) for n, layer in enumerate(table["layers"])
             for o in layer["ops"]}
    return table["base_ms"] + sum(value[(n, names.get(ops[i], ops[i]))] for n, i in enumerate(listed))


@pytest.mark.parametrize("case", ["relative to skip", "per block, fixed block left out"])
def test_an_imported_table_predicts_every_published_total(case, tmp_path):
    relative = case == "relative to skip"
    space_path = tmp_path / "space.yaml"
    space_path.write_text(SMALL_FBNET if relative else SMALL_PROXYLESS)
    names = FBNET_NAMES if relative else {}
    data = published(space_path, "delta_vs_skip_ms" if relative else "latency_ms", names, fixed_left_out=not relative)
    (tmp_path / "lut.json").write_text(json.dumps(data))
    assert main(["import-table", str(tmp_path / "lut.json"), "--space", str(space_path),
                 "--out", str(tmp_path / "t.json")]) == 0
    table = load_table(tmp_path / "t.json", load_space(space_path))
    space = table.space
    fixed = {layer.index for layer in space.layers() if len(layer.candidates) == 1 and not relative}
    for ops in itertools.product(*(layer.candidates for layer in space.layers())):
        assert table.predict_ms(Arch(space, ops)) == pytest.approx(published_total(data, ops, names, fixed), abs=1e-9)
    assert table.calibration is None and all(stats.median_ms > 0 for stats in table.entries.values())
    assert table.device.kind == "mobile" and table.device.get("source") == "published"
    assert table.device.get("device_label") == "Phone X (published)"
    assert table.reference_ms == pytest.approx(table.predict_ms(table.reference_arch()))


def test_a_projecting_skip_takes_its_macs_share_of_the_base_and_an_identity_skip_has_no_entry(tmp_path):
    space_path = tmp_path / "space.yaml"
    space_path.write_text(SMALL_FBNET)
    (tmp_path / "lut.json").write_text(json.dumps(published(space_path, "delta_vs_skip_ms", FBNET_NAMES, False)))
    assert main(["import-table", str(tmp_path / "lut.json"), "--space", str(space_path),
                 "--out", str(tmp_path / "t.json")]) == 0
    entries = load_table(tmp_path / "t.json").entries
    assert "skip 8x8x8->8 s1" not in entries and "skip 4x4x16->16 s1" not in entries
    fixed = ["stem 8x8x3->8 s1", "head 4x4x16->32->10", "skip 8x8x8->16 s2"]
    assert sum(entries[key].median_ms for key in fixed) == pytest.approx(3.5)  # the whole base, and only it


def test_hw_nas_bench_names_are_decoded_into_hwnas_ops():
    assert [hwnas_op_name(n) for n in ("k3_e1", "k5_e1_g2", "k3_e6", "skip", "mb_k7_e3")] == \
        ["mb_k3_e1_g1", "mb_k5_e1_g2", "mb_k3_e6", "skip", "mb_k7_e3"]
    assert all(parse_op(hwnas_op_name(n)) for n in ("k3_e1", "k5_e1_g2", "k3_e3"))


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the published tables are not here ({REAL})")
@pytest.mark.parametrize("device", ["pixel3", "raspi4"])
def test_the_imported_fbnet_tables_reproduce_all_5000_published_totals(device, tmp_path):
    lut = json.loads((REAL / f"fbnet_cifar100_{device}_lut.json").read_text())
    archs = json.loads((REAL / "fbnet_cifar100_archs.json").read_text())["archs"]
    assert main(["import-table", str(REAL / f"fbnet_cifar100_{device}_lut.json"), "--space",
                 "recipes/spaces/fbnet_cifar100.yaml", "--out", str(tmp_path / "t.json")]) == 0
    table = load_table(tmp_path / "t.json")
    space = table.space
    for arch in archs:
        total = lut["base_ms"] + sum(lut["layers"][l]["ops"][i]["delta_vs_skip_ms"] for l, i in enumerate(arch))
        assert abs(table.predict_ms(Arch(space, tuple(space.ops[i] for i in arch))) - total) <= 1e-6


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the published tables are not here ({REAL})")
def test_the_imported_pixel1_table_spans_the_published_range(tmp_path):
    lut = json.loads((REAL / "proxyless_mobile_pixel1_lut.json").read_text())
    assert main(["import-table", str(REAL / "proxyless_mobile_pixel1_lut.json"), "--space",
                 "recipes/spaces/proxyless_mobile.yaml", "--out", str(tmp_path / "t.json")]) == 0
    table = load_table(tmp_path / "t.json")
    fastest, slowest = table.latency_range_ms()
    assert (fastest, slowest) == pytest.approx((lut["totals_check"]["min_arch_ms"], lut["totals_check"]["max_arch_ms"]),
                                               abs=1e-6)
    all_k3e3 = Arch(table.space, ("mb_k3_e1",) + ("mb_k3_e3",) * 21)
    assert table.predict_ms(all_k3e3) == pytest.approx(lut["totals_check"]["all_k3e3_no_zero_ms"], abs=1e-6)
