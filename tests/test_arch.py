import json

import pytest

from hwnas.arch import Arch, ArchError, load_arch, save_arch
from hwnas.space import load_space


@pytest.fixture
def arch() -> Arch:
    space = load_space("recipes/spaces/demo.yaml")
    return Arch(space, tuple(layer.candidates[-1] for layer in space.layers()))


def test_round_trip_keeps_space_and_ops(arch, tmp_path):
    save_arch(arch, tmp_path / "arch.json")
    assert load_arch(tmp_path / "arch.json") == arch


def test_edited_space_definition_is_detected(arch, tmp_path):
    data = arch.to_json()
    data["space"]["definition"]["head"]["channels"] = 64
    (tmp_path / "arch.json").write_text(json.dumps(data))
    with pytest.raises(ArchError, match="edited"):
        load_arch(tmp_path / "arch.json")


def test_op_outside_the_layer_candidates_is_rejected(arch, tmp_path):
    data = arch.to_json()
    data["ops"][2] = "zero"  # layer 2 changes stride: zero is not a candidate there
    (tmp_path / "arch.json").write_text(json.dumps(data))
    with pytest.raises(ArchError, match=r"arch.json.*layer 2"):
        load_arch(tmp_path / "arch.json")


@pytest.mark.parametrize("content", ["{", "[]", '{"format": "hwnas.arch", "version": 99}'])
def test_malformed_files_are_one_line_errors(tmp_path, content):
    (tmp_path / "arch.json").write_text(content)
    with pytest.raises(ArchError, match="arch.json"):
        load_arch(tmp_path / "arch.json")
