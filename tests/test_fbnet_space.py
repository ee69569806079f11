"""The FBNet space in hwnas's grammar: grouped 1×1 convs with a channel shuffle (`mb_k3_e1_g2`) and a
`skip` that is identity where the layer keeps its shape and a 1×1 projection where it changes, decoded
in parse_op, built as deployed, keyed in tables and exported to ONNX like every other op."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hwnas.latency.table import required_keys
from hwnas.measuring.onnx_export import export_onnx
from hwnas.net.arch import Arch, build_subnet, random_arch
from hwnas.net.memory import layer_weight_count
from hwnas.net.ops import ChannelShuffle, build_layer
from hwnas.net.space import SpaceError, load_space, parse_op, parse_space
from hwnas.net.supernet import SuperNet

FBNET = "recipes/spaces/fbnet_cifar100.yaml"
PUBLISHED = Path(__file__).resolve().parents[2] / "shared/data/real-devices/fbnet_cifar100_archs.json"


def test_the_grammar_decodes_groups_and_skip_and_keeps_the_earlier_names():
    grouped, e1 = parse_op("mb_k5_e1_g2"), parse_op("mb_k3_e1")
    assert (grouped.kernel, grouped.expand, grouped.groups, grouped.expansion_conv) == (5, 1, 2, True)
    assert (e1.groups, e1.expansion_conv) == (1, False)  # MobileNetV2's first block: no expansion conv
    assert parse_op("mb_k3_e1_g1").expansion_conv and parse_op("mb_k3_e6").expansion_conv
    assert parse_op("skip").is_skip and not parse_op("skip").is_zero


@pytest.mark.parametrize("name", ["mb_k3_e3_g1", "mb_k3_e1_g0", "mb_k3_g2", "skip_g2"])
def test_a_group_suffix_that_means_nothing_new_is_refused(name):
    with pytest.raises(SpaceError):
        parse_op(name)


def test_groups_that_do_not_divide_a_layers_channels_are_refused_naming_the_field():
    space = load_space(FBNET).to_dict()
    space["stages"][1]["channels"] = 25  # 16->25: two groups cannot split 25 channels
    with pytest.raises(SpaceError, match=r"field 'ops' lists 'mb_k3_e1_g2', but layer 1 .* 16->25 channels"):
        parse_space(space, "fbnet.yaml")


def test_skip_is_identity_where_the_shape_is_kept_and_a_projection_where_it_changes():
    layers = load_space(FBNET).layers()
    kept, changed = layers[0].shape, layers[1].shape  # 16->16 s1, 16->24 s1
    assert parse_op("skip").runs_nothing(kept) and not parse_op("skip").runs_nothing(changed)
    assert isinstance(build_layer("skip", kept), nn.Identity)
    projection = build_layer("skip", changed)
    convs = [m for m in projection.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [(16, 24, (1, 1), (1, 1))]
    keys = required_keys(load_space(FBNET))
    assert "skip 32x32x16->24 s1" in keys and "skip 32x32x16->16 s1" not in keys
    # 12 distinct shapes × 8 MBConvs, a projecting skip at each of the 6 shapes that change, stem and head
    assert len(keys) == 12 * 8 + 6 + 2


def test_the_supernet_runs_nothing_for_an_identity_skip_and_the_projection_otherwise():
    net = SuperNet(load_space(FBNET))
    skip = net.mixed_ops[0].names.index("skip")
    assert net.mixed_ops[0].is_zero[skip] and not net.mixed_ops[1].is_zero[skip]
    x = torch.randn(2, 16, 32, 32)
    assert torch.equal(net.mixed_ops[0].forward_path(x, skip), x)
    assert net.mixed_ops[1].forward_path(x, skip).shape == (2, 24, 32, 32)


def test_channel_shuffle_interleaves_the_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(2)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_two_groups_halve_the_weights_of_both_1x1_convs():
    shape = load_space(FBNET).layers()[2].shape  # 24->24 at 32×32
    dense, grouped = layer_weight_count("mb_k3_e1_g1", shape), layer_weight_count("mb_k3_e1_g2", shape)
    assert dense - grouped == 2 * (24 * 24 // 2)  # expansion and projection 1×1 convs, 24×24 weights each
    assert layer_weight_count("mb_k3_e1", shape) == dense - (24 * 24 + 24)  # no expansion conv (and its bias)


def test_an_fbnet_subnet_exports_to_onnx_and_runs_there_as_in_pytorch(tmp_path):
    import onnxruntime as ort

    space = load_space(FBNET)
    arch = random_arch(space, random.Random(3))
    assert {"skip", "mb_k3_e1_g2"} & set(arch.ops)
    torch.manual_seed(0)
    net = build_subnet(arch).eval()
    x = torch.randn(2, 3, 32, 32)
    path = export_onnx(net, x[:1], tmp_path / "fbnet.onnx")  # dynamic batch, as exported for deployment
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        assert np.abs(out - net(x).numpy()).max() <= 1e-4


@pytest.mark.skipif(not PUBLISHED.is_file(), reason=f"the published FBNet archs are not here ({PUBLISHED})")
def test_the_space_file_is_the_published_fbnet_layout():
    """Stem, stages and head as HELP's fbnet_cifar100_archs.json states them, and its ops in the same order."""
    published = json.loads(PUBLISHED.read_text())
    layout, space = published["layout"], load_space(FBNET)
    assert [space.in_channels, space.resolution, space.resolution] == layout["input"]
    assert (space.stem_channels, space.stem_stride) == (layout["stem"]["out_channels"], layout["stem"]["stride"])
    assert [(st.channels, st.depth, st.stride) for st in space.stages] == \
        [(st["out_channels"], st["depth"], st["stride"]) for st in layout["stages"]]
    assert space.head_channels == layout["head"]["out_channels"] and space.num_classes == 100
    fbnet_name = {"skip": "skip", **{f"k{k}_e1": f"mb_k{k}_e1_g1" for k in (3, 5)}}
    assert list(space.ops) == [fbnet_name.get(op, f"mb_{op}") for op in published["op_names"]]
    assert Arch(space, tuple(space.ops[i] for i in published["archs"][0]))
