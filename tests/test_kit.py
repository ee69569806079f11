"""The profiling kit round trip: written here, run as a separate process that can import
neither torch nor hwnas (as on a phone), imported back into a table; and resumable exports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from hwnas.errors import HwnasError
from hwnas.measuring.timing import DeviceError
from hwnas.net.space import load_space
from hwnas.profile.kit import import_results, load_results, write_kit

# Makes `import torch` and `import hwnas` fail in the child, to prove the runner needs neither.
BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "hwnas"):
            raise ImportError(f"{name} is not on this device")
sys.meta_path.insert(0, Block())
"""


@pytest.fixture(scope="module")
def kit(tiny_space_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kit")
    # 8 subnets: enough for all 4 calibration terms (with 5 only 2 terms qualify, and 20 noisy
    # rounds then missed the mean-error bound, 5% then, in a fresh clone)
    manifest = write_kit(load_space(tiny_space_path), folder, device="mobile", calibration_samples=8)
    return folder, manifest


def test_kit_holds_ort_models_manifest_and_runner(kit):
    folder, manifest = kit
    assert (folder / "run.py").is_file() and (folder / "timing.py").is_file()
    kinds = [model["kind"] for model in manifest["models"].values()]
    assert kinds.count("reference") == 1 and kinds.count("subnet") == 8 and kinds.count("entry") == 6
    assert all((folder / model["file"]).is_file() and model["file"].endswith(".ort")
               for model in manifest["models"].values())


def test_runner_runs_without_torch_or_hwnas_and_imports_as_a_table(kit, tmp_path, tiny_space_path):
    folder, _ = kit
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    # the protocol's 300 rounds (0.6 s here): with 60, one transient disturbance in a fresh clone's run
    # put the 8 tiny subnets 7% off their fit, and import (rightly) refused the calibration
    done = subprocess.run([sys.executable, "run.py", "--rounds", "300", "--warmup-rounds", "30"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    table = import_results(load_results(folder / "results.json"), "results.json")
    assert table.space == load_space(tiny_space_path)
    assert table.device.kind == "mobile" and "proxy" in table.device.get("note")
    assert table.calibration is not None and table.protocol["rounds"] == 300


def test_an_interrupted_kit_resumes_keeping_finished_exports(tiny_space_path, tmp_path, caplog):
    space = load_space(tiny_space_path)
    caplog.set_level("INFO", logger="hwnas")
    write_kit(space, tmp_path, calibration_samples=5)
    removed = sorted((tmp_path / "models").glob("*.onnx"))[:3]
    for path in removed:
        path.unlink()  # as if interrupted before these
    with pytest.raises(HwnasError, match="--resume"):
        write_kit(space, tmp_path, calibration_samples=5)
    write_kit(space, tmp_path, calibration_samples=5, resume=True)
    assert caplog.messages[-1].endswith("(3 exported now, 9 kept)")
    assert all(path.is_file() for path in removed)


def test_bad_results_and_bad_devices_are_clear_errors(tmp_path, tiny_space_path):
    (tmp_path / "results.json").write_text('{"format": "something else"}')
    with pytest.raises(HwnasError, match="not the results of an hwnas kit"):
        load_results(tmp_path / "results.json")
    with pytest.raises(DeviceError, match="one thread"):
        write_kit(load_space(tiny_space_path), tmp_path / "k", device="mobile", threads=2)


def test_resuming_with_an_edited_space_re_exports_what_changed(tiny_space_path, tmp_path, caplog):
    """Models were named by position (entry003.onnx): resuming after an edit kept all 12 old
    exports and built a table of the wrong ops. Now only the same models are kept: here the
    stem and the stride-1 layers' entries, whose shapes the edit (16 → 24 channels in the last
    stage) leaves alone."""
    space = load_space(tiny_space_path)
    write_kit(space, tmp_path, calibration_samples=5)
    edited_path = tmp_path / "edited.yaml"
    edited_path.write_text(tiny_space_path.read_text().replace("channels: 16, depth: 1", "channels: 24, depth: 1"))
    edited = load_space(edited_path)
    caplog.set_level("INFO", logger="hwnas")
    manifest = write_kit(edited, tmp_path, calibration_samples=5, resume=True)
    # kept: the stem (1→8) and the two candidates of the 8→8 stride-1 layers; re-exported: the
    # stride-2 layer's two candidates and the head (their channels changed), every subnet
    assert caplog.messages[-1].endswith(f"({len(manifest['models']) - 3} exported now, 3 kept)")
    assert all((tmp_path / model["file"]).is_file() for model in manifest["models"].values())


def test_a_nan_in_the_results_is_one_line_naming_the_model(kit, tmp_path, capsys):
    """It used to reach the calibration fit and end in a LinAlgError traceback."""
    import json

    from hwnas.cli import main

    folder, manifest = kit
    done = subprocess.run([sys.executable, "run.py", "--rounds", "3", "--warmup-rounds", "1"], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads((folder / "results.json").read_text())
    entry = next(name for name, model in manifest["models"].items() if model["kind"] == "entry")
    results["stats"][entry]["median_ms"] = float("nan")
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["import-table", str(tmp_path / "results.json"), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "which no measurement gives" in err[0] and manifest["models"][entry]["key"] in err[0]
    assert not (tmp_path / "t.json").exists()


def test_a_small_space_keeps_enough_subnets_out_of_its_calibration_to_validate_it():
    """A 2-layer space of 6 ops holds 42 archs: calibrating on 40 left 1 to validate the table on.
    (Measured with that space, benchmarks/spaces/two_layer.yaml: 30 fresh subnets predicted with
    mean |error| 0.9%, all within ±10%; BENCHMARKS.md.)"""
    from hwnas.measuring.fidelity import VALIDATION_SAMPLES
    from hwnas.profile.kit import calibration_archs, calibration_count, reference_arch

    space = load_space("benchmarks/spaces/two_layer.yaml")
    calibration = calibration_archs(space, calibration_count(space, 40), seed=0)
    assert len(calibration) == 42 - 1 - VALIDATION_SAMPLES
    assert reference_arch(space).ops not in {arch.ops for arch in calibration}


def test_results_that_make_a_table_nothing_could_load_are_refused_and_nothing_is_written(kit, tmp_path, capsys):
    """A results.json whose device is not a mapping ("device": "x") was imported into a table that every
    later stage refused."""
    import json

    from hwnas.cli import main

    folder, _ = kit
    done = subprocess.run([sys.executable, "run.py"], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((folder / "results.json").read_text())
    results["device"] = "x"
    (tmp_path / "results.json").write_text(json.dumps(results))
    assert main(["import-table", str(tmp_path / "results.json"), "--out", str(tmp_path / "t.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the device is a str, not a mapping" in err[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.json"]


def test_a_manifest_naming_a_file_outside_the_kit_is_refused(kit, tmp_path):
    """A kit received from someone else must not make run.py load models from elsewhere on the device."""
    import json

    folder, _ = kit
    copy = tmp_path / "kit"
    shutil.copytree(folder, copy)
    (copy / "results.json").unlink(missing_ok=True)  # another test may have run the kit already
    manifest = json.loads((copy / "manifest.json").read_text())
    first = next(iter(manifest["models"]))
    manifest["models"][first]["file"] = "../elsewhere.onnx"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    done = subprocess.run([sys.executable, "run.py", "--rounds", "1"], cwd=copy, capture_output=True, text=True,
                          timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "outside the kit folder" in lines[0]
    assert not (copy / "results.json").exists()
