"""Bad input through the `hwnas` command: one line naming the problem and the fix, exit code 2,
nothing left at the output path, and no time spent before the check."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from hwnas.cli import main


def one_error_line(capsys) -> str:
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1
    return errors[0]


def test_measure_of_a_file_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.onnx").write_text("not a model")
    assert main(["measure", "--onnx", str(tmp_path / "notes.onnx")]) == 2
    assert "cannot load it as a model" in one_error_line(capsys)


def test_profile_into_a_folder_stops_before_exporting_anything(tiny_space_path, tmp_path, capsys):
    """It used to time every model, then fail on the final rename with a traceback."""
    assert main(["profile", "--space", str(tiny_space_path), "--out", str(tmp_path)]) == 2
    assert "is a folder" in one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_a_profile_says_how_to_resume(tiny_space_path, tmp_path, monkeypatch, capsys):
    import hwnas.latency.profile

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(hwnas.latency.profile, "profile_space", interrupted)
    assert main(["profile", "--space", str(tiny_space_path), "--out", str(tmp_path / "t.json")]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["NaN", -1.0])
def test_a_table_with_an_unphysical_calibration_is_refused(tiny_table_path, tmp_path, capsys, value):
    """A NaN scale used to reach the search and train on a NaN loss."""
    table = json.loads(tiny_table_path.read_text())
    table["calibration"]["scale"] = float(value)
    (tmp_path / "t.json").write_text(json.dumps(table))
    assert main(["validate-table", str(tmp_path / "t.json"), "--samples", "2"]) == 2
    assert "calibration values must be finite with a positive scale" in one_error_line(capsys)


@pytest.mark.parametrize("classes", [3, 1])
def test_a_dataset_whose_classes_differ_from_the_space_is_refused_before_training(tiny_search_args, tmp_path,
                                                                                 capsys, classes):
    """12 classes on a 10-class space ended in `IndexError: Target 10 is out of bounds`; one class
    trained a 10-way head without a word."""
    rng = np.random.default_rng(0)
    for c in range(classes):
        (tmp_path / "images" / f"c{c}").mkdir(parents=True)
        for i in range(4):
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "images" / f"c{c}" / f"{i}.png")
    assert main(["search", "--config", "recipes/search_demo.yaml", "--run_dir", str(tmp_path / "run"),
                 *tiny_search_args, "--data.class_path", "hwnas.data.ImageFolderDataModule",
                 "--data.init_args.root", str(tmp_path / "images")]) == 2
    assert f"the dataset has {classes} classes" in one_error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_derive_with_a_target_that_is_not_positive(tmp_path, capsys):
    assert main(["derive", "--ckpt", str(tmp_path / "missing.ckpt"), "--target-ms", "0"]) == 2
    assert "--target-ms must be a positive number" in one_error_line(capsys)


def test_select_of_a_file_that_is_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "last.ckpt").write_text("hello")
    assert main(["select", "--ckpt", str(tmp_path / "last.ckpt"), "--target-ms", "0.05",
                 "--out", str(tmp_path / "out")]) == 2
    assert "not a readable checkpoint" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()
