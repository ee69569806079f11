"""The interleaved ORT timing protocol: sane statistics, a ranking that cannot flake, clear errors."""

import math

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from hwnas.measuring.onnx_export import export_onnx
from hwnas.measuring.timing import DeviceError, Progress, make_session, random_input, time_interleaved


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A 1×1 conv on 4×8×8 (1 K MACs) and three 3×3 convs on 32×32×32 (28 M MACs): ~35× apart
    in time on a laptop CPU (per-call overhead dominates the small one), so the ranking cannot flake."""
    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    small = nn.Conv2d(4, 4, 1)
    big = nn.Sequential(*[nn.Conv2d(32, 32, 3, padding=1) for _ in range(3)])
    return {
        "small": str(export_onnx(small, torch.randn(1, 4, 8, 8), folder / "small.onnx", dynamic_batch=False)),
        "big": str(export_onnx(big, torch.randn(1, 32, 32, 32), folder / "big.onnx", dynamic_batch=True)),
    }


def test_stats_are_ordered_quartiles_and_rank_a_much_bigger_model_slower(models):
    stats = time_interleaved(models, rounds=30, warmup_rounds=5)
    assert set(stats) == {"small", "big"}
    for s in stats.values():
        assert all(math.isfinite(v) and v > 0 for v in s.values())
        assert s["p25_ms"] <= s["median_ms"] <= s["p75_ms"]
    assert stats["big"]["median_ms"] > 5 * stats["small"]["median_ms"]


def test_progress_estimates_the_time_left_from_the_pace_since_its_previous_line():
    """Two slow first steps (60 s each, as a GPU's kernel search makes them) then 1 s steps: the second
    line must extrapolate the 1 s pace, not the average since the start."""
    clock = iter([0.0, 60.0, 120.0, *range(121, 131)])
    lines = []
    progress = Progress("step", 100, lines.append, every_s=5.0, clock=lambda: float(next(clock)))
    for done in range(1, 13):
        progress(done)
    assert lines == ["step 1/100, 60 s so far, about 99.0 min left", "step 2/100, 2.0 min so far, about 98.0 min left",
                     "step 7/100, 2.1 min so far, about 1.6 min left", "step 12/100, 2.2 min so far, about 88 s left"]


def test_given_inputs_are_used(models):
    """A wrongly shaped input must reach ORT (and fail there), not be replaced by a random one."""
    with pytest.raises(Exception, match="invalid dimensions"):
        time_interleaved(models, {"small": np.zeros((1, 3, 8, 8), np.float32)}, rounds=1, warmup_rounds=0)


@pytest.mark.parametrize("protocol", [{"rounds": 0}, {"warmup_rounds": -1}, {"warm_calls": -1}])
def test_an_impossible_protocol_is_refused(models, protocol):
    with pytest.raises(ValueError, match="need rounds >= 1"):
        time_interleaved(models, **protocol)


def test_random_input_sets_a_dynamic_batch_and_refuses_another_batch_for_a_fixed_one(models):
    rng = np.random.default_rng(0)
    assert random_input(make_session(models["big"]), rng, batch_size=3).shape == (3, 32, 32, 32)
    with pytest.raises(ValueError, match="batch axis is fixed at 1"):
        random_input(make_session(models["small"]), rng, batch_size=3)


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="CUDA provider present")
def test_gpu_without_cuda_provider_says_to_install_onnxruntime_gpu(models):
    with pytest.raises(DeviceError, match=r"pip install \.\[gpu\]"):
        make_session(models["small"], device="gpu")


def test_mobile_means_one_thread(models):
    with pytest.raises(DeviceError, match="one thread"):
        make_session(models["small"], device="mobile", threads=2)


@pytest.mark.skipif("CUDAExecutionProvider" not in ort.get_available_providers(),
                    reason="needs onnxruntime-gpu's CUDA provider and a GPU (pip install .[gpu])")
def test_gpu_times_on_the_cuda_provider_and_records_its_options(models):
    from hwnas.measuring.timing import runtime_metadata

    assert make_session(models["big"], device="gpu").get_providers()[0] == "CUDAExecutionProvider"
    stats = time_interleaved(models, device="gpu", rounds=20, warmup_rounds=5)
    assert all(s["median_ms"] > 0 for s in stats.values())
    assert runtime_metadata("gpu", 1)["provider_options"]["device_id"] == "0"
