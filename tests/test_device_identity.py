"""A table knows its device: `profile --skip_if_current` re-profiles, and the stages that predict
say so in one line, whenever the table's device is not this machine."""

from __future__ import annotations

import json

import pytest

from hwnas.cli import main
from hwnas.latency.device import Device
from hwnas.profile.current import why_not_current
from hwnas.measuring.device_identity import describe_mismatch, differences_from_here
from hwnas.measuring.timing import parse_nvidia_smi, runtime_metadata
from hwnas.net.space import load_space


@pytest.fixture
def edit_table(tiny_table_path, tmp_path):
    """A copy of the tiny table with some of its device fields replaced; returns its path."""
    def edit(**device) -> str:
        record = json.loads(tiny_table_path.read_text())
        record["device"].update(device)
        path = tmp_path / "edited.json"
        path.write_text(json.dumps(record))
        return str(path)
    return edit


def test_the_table_measured_here_is_this_machines(tiny_table_path):
    assert differences_from_here(Device.from_json(json.loads(tiny_table_path.read_text())["device"])) == []


@pytest.mark.parametrize("device, named", [
    ({"cpu": "Intel(R) Xeon(R) Platinum 8375C"}, "cpu 'Intel(R) Xeon(R) Platinum 8375C'"),
    ({"onnxruntime": "1.0.0"}, "onnxruntime '1.0.0'"),
    ({"kind": "mobile", "threads": 4}, "kind 'mobile' (asked 'cpu'); threads 4 (asked 1)"),
    ({"precision": "int8"}, "precision 'int8' (asked 'float32')"),  # the same machine, other deployed models
])
def test_a_table_from_another_device_is_not_current(edit_table, tiny_space_path, device, named):
    """The Intel Xeon case: the AMD EPYC tables said "up to date" there and chose archs 25% off."""
    assert named in why_not_current(edit_table(**device), load_space(tiny_space_path), "cpu", 1, "float32")


def test_a_table_whose_reference_runs_at_another_speed_here_is_not_current(edit_table, tiny_space_path, tiny_table_path):
    """Two cloud machines that both said "AMD EPYC" ran the demo reference 0.57x apart. 10x: the tiny
    reference (~0.02 ms) timed now under two busy loops once came out 3x its table's time."""
    record = json.loads(tiny_table_path.read_text())
    record["reference"]["median_ms"] *= 10
    (path := tiny_table_path.parent / "slow_reference.json").write_text(json.dumps(record))
    assert "another machine behind the same name" in why_not_current(str(path), load_space(tiny_space_path),
                                                                          "cpu", 1, "float32")


def test_profile_skip_if_current_reprofiles_another_cpus_table_and_says_why(edit_table, tiny_space_path, capsys):
    path = edit_table(cpu="Intel(R) Xeon(R) Platinum 8375C")
    assert main(["profile", "--space", str(tiny_space_path), "--out", path, "--skip_if_current",
                 "--calibration_samples", "8"]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith(f"re-profiling {path} for this machine: it was measured on another device: cpu 'Intel")
    assert json.loads(open(path).read())["device"]["cpu"] == runtime_metadata("cpu", 1)["cpu"]


def test_predict_with_another_cpus_table_says_so_in_one_line(edit_table, tiny_space_path, tmp_path, capsys):
    from hwnas.net.arch import Arch
    from hwnas.records.arch_record import ArchRecord

    space = load_space(tiny_space_path)
    ArchRecord(Arch(space, tuple(layer.candidates[0] for layer in space.layers()))).save(tmp_path / "arch.json")
    assert main(["predict", "--arch", str(tmp_path / "arch.json"), "--table", edit_table(cpu="Apple M2")]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "measured on another device" in line]
    assert len(notes) == 1 and "cpu 'Apple M2'" in notes[0]


def test_a_gpu_table_on_a_machine_without_cuda_is_another_device():
    recorded = {"kind": "gpu", "provider": "CUDAExecutionProvider", "threads": 1, "gpu": "NVIDIA H100 80GB HBM3",
                "gpu_driver": "550.54.15", "cuda": "12.4"}
    assert "measured on another device" in describe_mismatch("gpu.json", Device.from_json(recorded))


def test_nvidia_smi_output_gives_the_gpu_identity():
    banner = "| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |\n"
    assert parse_nvidia_smi("NVIDIA H100 80GB HBM3, 550.54.15\n", banner) == {
        "gpu": "NVIDIA H100 80GB HBM3", "gpu_driver": "550.54.15", "cuda": "12.4"}
    assert parse_nvidia_smi("", "") == {"gpu": "unknown", "gpu_driver": "unknown", "cuda": "unknown"}


def test_a_gpu_table_from_another_driver_or_an_unknown_gpu_is_another_device(monkeypatch):
    """The GPU fields themselves, compared as on a GPU machine: this one has none, so what the
    machine would report is given in place of runtime_metadata (the only stand-in in this file)."""
    import hwnas.measuring.device_identity as device_identity

    here = {"kind": "gpu", "provider": "CUDAExecutionProvider", "threads": 1, "onnxruntime": "1.32.0",
            "cpu": "AMD EPYC", "gpu": "NVIDIA H100 80GB HBM3", "gpu_driver": "550.54.15", "cuda": "12.4"}
    monkeypatch.setattr(device_identity, "runtime_metadata", lambda kind, threads: here)
    assert differences_from_here(Device.from_json(here)) == []
    assert differences_from_here(Device.from_json({**here, "gpu_driver": "535.104.05"})) == [
        "gpu_driver '535.104.05' (here '550.54.15')"]
    unknown = {**here, "gpu": "unknown"}
    monkeypatch.setattr(device_identity, "runtime_metadata", lambda kind, threads: unknown)
    assert differences_from_here(Device.from_json(unknown)) == ["gpu 'unknown' (here 'unknown')"]


def test_nvidia_smi_is_asked_about_the_gpu_cuda_numbers_0(monkeypatch):
    from hwnas.measuring.timing import _physical_gpu

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,1")
    assert _physical_gpu("0") == "3" and _physical_gpu("1") == "1"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert _physical_gpu("0") == "0"
