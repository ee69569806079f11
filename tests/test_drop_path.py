import pytest
import torch

from hwnas.errors import HwnasError
from hwnas.net.drop_path import path_masks
from hwnas.net.space import load_space
from hwnas.net.supernet import SuperNet
from hwnas.search.one_shot import Average


def test_the_average_rules_schedule_rises_linearly_from_zero_to_max_and_clamps():
    schedule = Average(max_drop_prob=0.3)
    assert [schedule.drop_prob(t) for t in (-1.0, 0.0, 0.5, 1.0, 2.0)] == pytest.approx([0, 0, 0.15, 0.3, 0.3])


def test_masks_drop_whole_paths_and_scale_the_kept_ones():
    masks = path_masks(20_000, 6, 0.8, torch.Generator().manual_seed(0))
    assert masks.unique().tolist() == pytest.approx([0.0, 1 / 0.2])
    # rescued samples (0.8^6 = 26%) keep one of 6 paths at 1/0.2: E = 1 + 0.8^6 / (6 · 0.2) = 1.218;
    # without the rescue E = 1 (std of this mean over 120k draws of a 0/5 variable ≈ 0.006)
    assert masks.mean().item() == pytest.approx(1.0 + 0.8 ** 6 / (6 * 0.2), abs=0.02)


def test_masks_never_drop_every_path_of_a_sample():
    """At 0.9 and 6 paths, independent masks drop all paths for 53% of the samples."""
    masks = path_masks(4096, 6, 0.9, torch.Generator().manual_seed(0))
    assert bool((masks > 0).any(dim=1).all())


def test_a_layer_without_residual_never_loses_the_image_to_drop_path(tiny_space_path):
    """The tiny space's stride-2 layer has no residual: at drop 0.95 its every-path-dropped samples
    used to come out as exact zeros (the logits after it then ignore the image)."""
    net = SuperNet(load_space(tiny_space_path))
    layer = next(m for m in net.mixed_ops if not m.has_residual)
    x = torch.randn(512, layer.candidates[0].body[0][0].in_channels, 8, 8)
    with torch.no_grad():
        out = layer.forward_weighted(x, torch.full((len(layer.names),), 1 / len(layer.names)), 0.95,
                                     torch.Generator().manual_seed(0))
    assert bool((out.flatten(1).abs().sum(1) > 0).all())


def test_zero_drop_probability_keeps_every_path():
    assert torch.equal(path_masks(4, 3, 0.0), torch.ones(4, 3))


def test_invalid_max_drop_prob_is_rejected():
    with pytest.raises(HwnasError, match="max_drop_prob"):
        Average(max_drop_prob=1.0)


def test_drop_masks_come_from_the_given_generator():
    """The search passes its per-batch generator: the same generator state drops the same samples."""
    first = path_masks(64, 3, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(first, path_masks(64, 3, 0.5, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, path_masks(64, 3, 0.5, torch.Generator().manual_seed(8)))
