"""The space file is the single source of truth: it must load the shipped spaces and reject
bad files with an error that names the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hwnas.net.space import SpaceError, load_space, parse_op, parse_space

BASE = """\
name: t
input: {resolution: 16, channels: 3}
num_classes: 10
stem: {channels: 8, stride: 1}
ops: [mb_k3_e3, mb_k5_e6]
stages:
  - {channels: 8, depth: 2, stride: 1}
  - {channels: 16, depth: 2, stride: 2}
head: {channels: 32}
"""


def write(tmp_path, text):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_op_grammar_decodes_mbconv_and_zero():
    op = parse_op("mb_k5_e3")
    assert (op.kernel, op.expand, op.is_zero) == (5, 3, False)
    assert parse_op("zero").is_zero


@pytest.mark.parametrize("name", ["mb_k4_e3", "mb_k3_e0", "conv3x3", "mb_k3", "ZERO"])
def test_op_grammar_rejects_malformed_names(name):
    with pytest.raises(SpaceError):
        parse_op(name)


def test_shipped_spaces_load_with_zero_only_where_the_shape_is_kept():
    for name, layers in [("demo", 6), ("proxyless_cifar", 22)]:
        space = load_space(f"recipes/spaces/{name}.yaml")
        assert len(space.layers()) == layers
        for layer in space.layers():
            assert ("zero" in layer.candidates) == (layer.shape.has_residual and len(layer.candidates) > 1)


def test_proxyless_space_has_the_proxylessnas_candidates():
    space = load_space("recipes/spaces/proxyless_cifar.yaml")
    searchable = space.layers()[1]
    assert set(searchable.candidates) == {f"mb_k{k}_e{e}" for k in (3, 5, 7) for e in (3, 6)}


def test_layer_shapes_follow_stages(tmp_path):
    layers = load_space(write(tmp_path, BASE)).layers()
    assert [(l.shape.in_channels, l.shape.out_channels, l.shape.stride, l.shape.resolution) for l in layers] == [
        (8, 8, 1, 16), (8, 8, 1, 16), (8, 16, 2, 16), (16, 16, 1, 8)]


def test_unknown_op_names_file_and_field(tmp_path):
    path = write(tmp_path, BASE.replace("mb_k5_e6", "mb_k5_x6"))
    with pytest.raises(SpaceError, match=rf"{path}.*'ops'.*mb_k5_x6"):
        load_space(path)


def test_zero_where_a_layer_changes_shape_is_rejected_with_the_field(tmp_path):
    text = BASE.replace("{channels: 16, depth: 2, stride: 2}", "{channels: 16, depth: 2, stride: 2, ops: [zero, mb_k3_e3]}")
    with pytest.raises(SpaceError, match=r"stages\[1\]\.ops.*zero.*stride 2"):
        load_space(write(tmp_path, text))


@pytest.mark.parametrize("edit, field", [
    (("resolution: 16", "resolution: -2"), "input.resolution"),
    (("num_classes: 10\n", ""), "num_classes"),
    (("depth: 2, stride: 1", "depth: two, stride: 1"), r"stages\[0\].depth"),
    (("ops: [mb_k3_e3, mb_k5_e6]", "ops: []"), "ops"),
])
def test_bad_fields_are_named(tmp_path, edit, field):
    with pytest.raises(SpaceError, match=field):
        load_space(write(tmp_path, BASE.replace(*edit)))


def test_malformed_yaml_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(write(tmp_path, "stages: [\n"))
    with pytest.raises(SpaceError, match="no such space file"):
        load_space(tmp_path / "absent.yaml")


def test_fingerprint_tracks_structure_not_name(tmp_path):
    space = load_space(write(tmp_path, BASE))
    assert load_space(write(tmp_path, BASE.replace("name: t", "name: u"))).fingerprint() == space.fingerprint()
    assert load_space(write(tmp_path, BASE.replace("resolution: 16", "resolution: 32"))).fingerprint() != space.fingerprint()


def test_to_dict_round_trips():
    space = load_space("recipes/spaces/proxyless_cifar.yaml")
    assert parse_space(space.to_dict(), "round trip") == space


@pytest.mark.parametrize("edit, message", [
    (lambda raw: raw.update(zero_where_alowed=True), "unknown field 'zero_where_alowed': did you mean 'zero_where_allowed'?"),
    (lambda raw: raw["stages"][0].update(dept=2), "unknown field 'stages[0].dept': did you mean 'depth'?"),
    (lambda raw: raw["input"].update(colour=True), "unknown field 'input.colour'"),
])
def test_an_unknown_field_is_an_error_naming_it_and_the_closest_known_one(tmp_path, edit, message):
    """A typo used to take the field's default silently (`zero_where_alowed: true` meant false)."""
    raw = yaml.safe_load(Path("recipes/spaces/demo.yaml").read_text())
    edit(raw)
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpaceError, match=re.escape(message)):
        load_space(path)
