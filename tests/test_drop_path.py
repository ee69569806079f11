import pytest
import torch

from hwnas.drop_path import ScheduledDropPath, drop_path


def test_schedule_rises_linearly_from_zero_to_max_and_clamps():
    schedule = ScheduledDropPath(max_drop_prob=0.3)
    assert [schedule.drop_prob(t) for t in (-1.0, 0.0, 0.5, 1.0, 2.0)] == pytest.approx([0, 0, 0.15, 0.3, 0.3])


def test_drop_path_preserves_the_expectation_and_drops_whole_samples():
    torch.manual_seed(0)
    x = torch.ones(20_000, 2, 3, 3)
    out = drop_path(x, 0.3)
    per_sample = out.flatten(1)
    assert torch.all(per_sample == per_sample[:, :1])  # one decision per sample
    assert per_sample[:, 0].unique().tolist() == pytest.approx([0.0, 1 / 0.7])
    assert out.mean().item() == pytest.approx(1.0, abs=0.02)  # 20k Bernoulli(0.7): std of mean ≈ 0.005


def test_zero_drop_probability_is_identity():
    x = torch.randn(4, 3)
    assert drop_path(x, 0.0) is x


def test_invalid_max_drop_prob_is_rejected():
    with pytest.raises(ValueError):
        ScheduledDropPath(1.0)


def test_drop_masks_come_from_the_given_generator():
    """The search passes its per-batch generator: the same generator state drops the same samples."""
    x = torch.ones(64, 3)
    first = drop_path(x, 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(first, drop_path(x, 0.5, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, drop_path(x, 0.5, torch.Generator().manual_seed(8)))
