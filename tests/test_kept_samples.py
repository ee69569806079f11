"""Files an earlier hwnas wrote (7c7bfa7, tests/samples/7c7bfa7/README.md says how) still load through
the types that read them today, and what the current code writes loads back through the same types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwnas.export.card import ModelCard
from hwnas.front.front import FrontSummary
from hwnas.latency.table import load_table
from hwnas.records.arch_record import ArchRecord
from hwnas.records.search_checkpoint import load_search_checkpoint
from hwnas.retrain.record import RetrainSummary
from hwnas.search.record import SearchSummary
from hwnas.select.select import SelectSummary

OLD = Path(__file__).parent / "samples" / "7c7bfa7"


@pytest.mark.parametrize("name", ["search/arch.json", "derive/arch.json", "select/arch.json", "retrain/arch.json",
                                  *sorted(str(p.relative_to(OLD)) for p in OLD.glob("front/*/*/arch.json"))])
def test_an_old_arch_record_loads(name):
    record = ArchRecord.load(OLD / name)
    assert record.arch.space.name == "tiny" and record.provenance.table.device.kind == "cpu"


def test_an_old_table_loads_with_its_reference_and_device():
    table = load_table(OLD / "tiny-cpu.json")
    assert table.device.precision == "float32" and table.ref.path == str((OLD / "tiny-cpu.json").resolve())
    assert table.calibration is not None and table.latency_range_ms()[0] > 0


def test_an_old_search_checkpoint_loads_with_its_settings():
    """Its options were flat hyperparameters (mode, gate, warmup_epochs, …): read as the same settings."""
    checkpoint = load_search_checkpoint(OLD / "search/checkpoints/last.ckpt")
    settings = checkpoint.settings
    assert settings.algorithm["name"] == "proxyless" and settings.algorithm["gate"] == "full"
    assert settings.one_shot["name"] == "average" and settings.one_shot["epochs"] == 1 and settings.trains_alphas
    assert settings.derive.floor == 0.9 and checkpoint.table.path == "/tmp/samples/tiny-cpu.json"


def test_old_summaries_and_the_card_load():
    assert SearchSummary.load(OLD / "search/search.json").ops == ("mb_k7_e6", "zero", "mb_k3_e1")
    assert RetrainSummary.load(OLD / "retrain/retrain.json").dataset == "DigitsDataModule"
    assert SelectSummary.load(OLD / "select/select.json").chosen_method == "evolution"
    assert FrontSummary.load(OLD / "front/front.json").pool > 0
    card = ModelCard.load(OLD / "export/model_card.json")
    assert card.ops == ("mb_k7_e6", "zero", "mb_k3_e1") and card.target_met is False
    assert json.loads((OLD / "export/model_card.json").read_text())["latency"]["target_met"] is False


def test_what_this_hwnas_writes_loads_back_through_its_type(tiny_run):
    """The tiny run of this session (search → retrain → export), each record read by its type, and
    written again: the same JSON."""
    for path, kind in [("search/search.json", SearchSummary), ("retrain/retrain.json", RetrainSummary),
                       ("export/model_card.json", ModelCard)]:
        data = json.loads((tiny_run / path).read_text())
        again = kind.load(tiny_run / path).to_json()
        assert {key: value for key, value in again.items() if key != "scoring"} == \
            {key: value for key, value in data.items() if key != "scoring"}, path
    settings = load_search_checkpoint(tiny_run / "search/checkpoints/last.ckpt").settings
    assert settings.to_json() == json.loads((tiny_run / "search/search.json").read_text())["settings"]
