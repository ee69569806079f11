"""Every bad input we know of, through the `hwnas` command: one line naming the problem and the
fix, exit code 2, no traceback, nothing left at the output path, and no time spent before the check.

Each case is a function that sets the scene in `tmp` and returns the command line; `@bad_input`
records what the error line must say and which path (relative to `tmp`) must not be written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml

from fake_data import write_image_folder
from hwnas.cli import main

SEARCH = ["search", "--config", "recipes/search_demo.yaml"]
CASES: dict[str, tuple[Callable, str, str | None]] = {}


def bad_input(says: str, writes_nothing_at: str | None = None):
    def register(build: Callable) -> Callable:
        CASES[build.__name__] = (build, says, writes_nothing_at)
        return build
    return register


def slowest(fixture) -> str:
    """The tiny table's slowest arch (ms): a target every arch meets, on this machine."""
    from hwnas.latency.table import load_table

    return str(load_table(fixture("tiny_table_path")).latency_range_ms()[1])


def search_on_images(tmp: Path, fixture) -> list[str]:
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"),
            "--data.class_path", "hwnas.data.ImageFolderDataModule", "--data.init_args.root", str(tmp / "images")]


# --- tables, models and checkpoints ---------------------------------------------------------------

@bad_input("cannot load it as a model")
def measure_a_file_that_is_not_a_model(tmp, fixture):
    (tmp / "notes.onnx").write_text("not a model")
    return ["measure", "--onnx", str(tmp / "notes.onnx")]


@bad_input("times image models with one float input")
def measure_a_model_with_two_inputs(tmp, fixture):
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, 4]) for name in ("a", "b")]
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["sum"])], "two_inputs", inputs,
                              [helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp / "two.onnx")
    return ["measure", "--onnx", str(tmp / "two.onnx")]


@bad_input("is a folder", writes_nothing_at="out/t.json")
def profile_into_a_folder(tmp, fixture):
    """It used to time every model, then fail on the final rename with a traceback."""
    (tmp / "out").mkdir()
    return ["profile", "--space", str(fixture("tiny_space_path")), "--out", str(tmp / "out")]


@bad_input("unknown field 'zero_where_alowed': did you mean 'zero_where_allowed'?", writes_nothing_at="t.json")
def profile_a_space_with_a_typo(tmp, fixture):
    """A typo used to mean the field's default, silently."""
    text = fixture("tiny_space_path").read_text().replace("zero_where_allowed", "zero_where_alowed")
    (tmp / "space.yaml").write_text(text)
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


@bad_input("lists 'mb_k3_e1_g3', but layer 0 (stage 0) has 8->8 channels, which 3 groups do not divide",
           writes_nothing_at="t.json")
def profile_a_space_whose_groups_do_not_divide_the_channels(tmp, fixture):
    text = fixture("tiny_space_path").read_text().replace("ops: [mb_k3_e1,", "ops: [mb_k3_e1_g3,")
    (tmp / "space.yaml").write_text(text)
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


@bad_input("need --rounds ≥ 1", writes_nothing_at="t.json.partial")
def profile_with_0_rounds(tmp, fixture):
    """It exported every model, then failed in the timing."""
    return ["profile", "--space", str(fixture("tiny_space_path")), "--rounds", "0", "--out", str(tmp / "t.json")]


@bad_input("--calibration_samples must be in 2-1000, got 1", writes_nothing_at="t.json.partial")
def profile_with_1_calibration_subnet(tmp, fixture):
    return ["profile", "--space", str(fixture("tiny_space_path")), "--calibration_samples", "1",
            "--out", str(tmp / "t.json")]


@bad_input("--samples must be at least 3")
def validate_with_0_samples(tmp, fixture):
    """It said the calibration had measured nearly every arch."""
    return ["validate-table", str(fixture("tiny_table_path")), "--samples", "0"]


@bad_input("was measured on another device")
def validate_another_devices_table(tmp, fixture):
    """It timed the fresh subnets here and wrote this CPU's report into a phone's table, with no word."""
    table = json.loads(fixture("tiny_table_path").read_text())
    table["device"]["cpu"] = "Qualcomm Kryo 585"
    (tmp / "phone.json").write_text(json.dumps(table))
    return ["validate-table", str(tmp / "phone.json"), "--samples", "3"]


@bad_input("--subnets must be in 2-1000, got 1", writes_nothing_at="local/t.json")
def onboard_from_too_few_subnets(tmp, fixture):
    return ["onboard", "--from", str(fixture("tiny_table_path")), "--out", str(tmp / "local/t.json"), "--subnets", "1"]


@bad_input("is the --from table")
def onboard_over_the_source_table(tmp, fixture):
    shutil.copyfile(fixture("tiny_table_path"), tmp / "t.json")
    return ["onboard", "--from", str(tmp / "t.json"), "--out", str(tmp / "t.json")]


def import_published(tmp: Path, fixture, edit: Callable[[dict], None], *space: str) -> list[str]:
    """`hwnas import-table` of a published table of the tiny space (per-block costs), edited by `edit`."""
    from fake_published import published

    table = published(fixture("tiny_space_path"), "latency_ms", {}, fixed_left_out=False)
    edit(table)
    (tmp / "lut.json").write_text(json.dumps(table))
    return ["import-table", str(tmp / "lut.json"), "--out", str(tmp / "t.json"),
            *(space or ["--space", str(fixture("tiny_space_path"))])]


@bad_input("layer 1 is 8x8x12->8 s1, the space's layer 1 is 8x8x8->8 s1 (H×W×C): import it with the space it was "
           "measured for", writes_nothing_at="t.json")
def import_a_published_table_of_another_width(tmp, fixture):
    return import_published(tmp, fixture, lambda table: table["layers"][1].update(input_shape=[12, 8, 8]))


@bad_input("layer 2: op 'mb_k5_e6' is not one of the space's layer 2 ops (mb_k3_e1, mb_k7_e6)", writes_nothing_at="t.json")
def import_a_published_table_with_another_op(tmp, fixture):
    return import_published(tmp, fixture, lambda table: table["layers"][2]["ops"][1].update(op="mb_k5_e6"))


@bad_input("costs 0.5 ms, another layer of the same shape", writes_nothing_at="t.json")
def import_a_published_table_whose_layers_of_one_shape_differ(tmp, fixture):
    """A table has one entry per shape: which of the two would it keep?"""
    return import_published(tmp, fixture, lambda table: table["layers"][1]["ops"][0].update(latency_ms=0.5))


@bad_input("2 layers, the space tiny has 3 searchable layers", writes_nothing_at="t.json")
def import_a_published_table_that_misses_a_layer(tmp, fixture):
    return import_published(tmp, fixture, lambda table: table["layers"].pop())


@bad_input("a published per-layer table names no hwnas space: pass the space", writes_nothing_at="t.json")
def import_a_published_table_without_its_space(tmp, fixture):
    return import_published(tmp, fixture, lambda table: None, "--threads", "1")[:-2]


@bad_input("base_ms is 0 ms with the values of ops that run nothing added: the stem and head of an hwnas table "
           "need a positive cost", writes_nothing_at="t.json")
def import_a_published_table_whose_base_is_0(tmp, fixture):
    """HW-NAS-Bench's FPGA table prices nothing outside the searchable layers."""
    return import_published(tmp, fixture, lambda table: table.update(base_ms=0))


def phone_table(tmp: Path, fixture) -> Path:
    """The tiny table as a phone's: measured elsewhere, so onboarding it measures nothing here."""
    table = json.loads(fixture("tiny_table_path").read_text())
    table["device"] = {"kind": "mobile", "threads": 1, "device_label": "Phone A", "source": "published"}
    (tmp / "phone.json").write_text(json.dumps(table))
    return tmp / "phone.json"


@bad_input("a phone or board is onboarded from measurements made there: `hwnas onboard --from TABLE --kit DIR`",
           writes_nothing_at="t.json")
def onboard_a_phone_by_measuring_here(tmp, fixture):
    return ["onboard", "--from", str(phone_table(tmp, fixture)), "--out", str(tmp / "t.json")]


@bad_input("--kit writes the subnets to measure on the device; --out, --measured and --skip_if_current make the "
           "table afterwards", writes_nothing_at="kit")
def onboard_a_kit_and_a_table_at_once(tmp, fixture):
    return ["onboard", "--from", str(phone_table(tmp, fixture)), "--kit", str(tmp / "kit"), "--out", str(tmp / "t")]


@bad_input("name the table to write (--out latency_tables/local/NAME.json), or --kit DIR")
def onboard_without_an_out(tmp, fixture):
    return ["onboard", "--from", str(phone_table(tmp, fixture))]


@bad_input("the --from table is of tiny", writes_nothing_at="t.json")
def onboard_from_subnets_measured_in_another_space(tmp, fixture):
    """Their ops would have been priced with the entries of layers they do not have."""
    space = yaml.safe_load(fixture("tiny_space_path").read_text())
    space["head"]["channels"] = 64
    results = {"format": "hwnas.kit_results", "version": 1, "device": {"kind": "mobile", "threads": 1},
               "manifest": {"space": {"definition": space}, "models": {"s": {"kind": "subnet", "ops": ["mb_k3_e1"] * 3}}},
               "stats": {"s": {"median_ms": 2.0}}}
    (tmp / "results.json").write_text(json.dumps(results))
    return ["onboard", "--from", str(phone_table(tmp, fixture)), "--measured", str(tmp / "results.json"),
            "--out", str(tmp / "t.json")]


@bad_input("holds published costs: its reference time is their sum, measured nowhere")
def predict_now_on_a_published_table(tmp, fixture):
    """It would time the reference here and rescale a phone's published sum by this CPU's speed."""
    assert main(import_published(tmp, fixture, lambda table: None)) == 0
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table", str(tmp / "t.json"), "--now"]


def validate_with_scale(tmp: Path, fixture, scale: float) -> list[str]:
    table = json.loads(fixture("tiny_table_path").read_text())
    table["calibration"]["scale"] = scale
    (tmp / "t.json").write_text(json.dumps(table))
    return ["validate-table", str(tmp / "t.json"), "--samples", "3"]


@bad_input("NaN is not a number JSON allows")
def validate_a_table_with_a_nan_scale(tmp, fixture):
    """A NaN scale reached the search, which trained on a NaN loss (strict_files.py refuses the literal)."""
    return validate_with_scale(tmp, fixture, float("nan"))


@bad_input("calibration values must be finite with a positive scale")
def validate_a_table_with_a_negative_scale(tmp, fixture):
    return validate_with_scale(tmp, fixture, -1.0)


def predict_with_calibration(tmp: Path, fixture, **values) -> list[str]:
    table = json.loads(fixture("tiny_table_path").read_text())
    table["calibration"].update(values)
    (tmp / "t.json").write_text(json.dumps(table))
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table", str(tmp / "t.json")]


@bad_input("its coefficients were changed after the fit")
def predict_with_a_negative_per_op_cost(tmp, fixture):
    """It predicted a negative latency."""
    return predict_with_calibration(tmp, fixture, per_op_ms=-1.0)


@bad_input("its coefficients were changed after the fit")
def predict_with_an_absurd_scale(tmp, fixture):
    """scale 1e300 was accepted."""
    return predict_with_calibration(tmp, fixture, scale=1e300)


@bad_input("device precision 'fp4' is none of float32, int8")
def predict_with_a_table_of_an_unknown_precision(tmp, fixture):
    table = json.loads(fixture("tiny_table_path").read_text())
    table["device"]["precision"] = "fp4"
    (tmp / "t.json").write_text(json.dumps(table))
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table", str(tmp / "t.json")]


@bad_input("cannot be written here")
def derive_into_a_folder_no_one_can_write(tmp, fixture):
    """/sys refuses new files even to root, whose permission bits say yes; the derive measured first."""
    return ["derive", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms",
            slowest(fixture), "--out", "/sys/hwnas-derive"]


@bad_input("cannot be written here")
def select_into_a_folder_no_one_can_write(tmp, fixture):
    return ["select", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms",
            slowest(fixture), "--out", "/sys/hwnas-select"]


@bad_input("cannot be written here")
def profile_into_a_folder_no_one_can_write(tmp, fixture):
    return ["profile", "--space", str(fixture("tiny_space_path")), "--out", "/sys/hwnas/tiny-cpu.json"]


@bad_input("--target_ms must be a positive, finite number")
def derive_for_a_target_of_zero(tmp, fixture):
    return ["derive", "--ckpt", str(tmp / "missing.ckpt"), "--target_ms", "0"]


@bad_input("not a readable checkpoint", writes_nothing_at="out")
def select_from_a_file_that_is_not_a_checkpoint(tmp, fixture):
    (tmp / "last.ckpt").write_text("hello")
    return ["select", "--ckpt", str(tmp / "last.ckpt"), "--target_ms", str(fixture("tiny_target_ms")),
            "--out", str(tmp / "out")]


def retrain_folder_with_weights(tmp: Path, fixture, weights) -> list[str]:
    shutil.copytree(fixture("tiny_run") / "retrain", tmp / "retrain")
    torch.save(weights, tmp / "retrain" / "subnet.pt")
    return ["export", "--run", str(tmp / "retrain"), "--out", str(tmp / "export")]


@bad_input("holds another network's weights", writes_nothing_at="export")
def export_weights_of_another_arch(tmp, fixture):
    """It ended in PyTorch's list of size mismatches, one per tensor."""
    from hwnas.net.arch import Arch, build_subnet
    from hwnas.records.arch_record import ArchRecord

    arch = ArchRecord.load(fixture("tiny_run") / "retrain" / "arch.json").arch
    other = tuple(next(op for op in layer.candidates if op != chosen and op != "zero")
                  for layer, chosen in zip(arch.space.layers(), arch.ops))
    return retrain_folder_with_weights(tmp, fixture, build_subnet(Arch(arch.space, other)).state_dict())


@bad_input("not a readable checkpoint", writes_nothing_at="export")
def export_weights_that_are_not_a_torch_file(tmp, fixture):
    command = retrain_folder_with_weights(tmp, fixture, {})
    (tmp / "retrain" / "subnet.pt").write_text("weights")
    return command


# --- search and retrain: refused before training ----------------------------------------------------

@bad_input("the dataset has 3 classes", writes_nothing_at="run")
def search_on_3_classes_with_a_10_class_space(tmp, fixture):
    """It ended in `IndexError: Target 10 is out of bounds`."""
    write_image_folder(tmp / "images", [f"c{c}" for c in range(3)], per_class=4)
    return search_on_images(tmp, fixture)


@bad_input("the dataset has 1 classes", writes_nothing_at="run")
def search_on_1_class(tmp, fixture):
    """It trained a 10-way head on one class without a word."""
    write_image_folder(tmp / "images", [f"c{c}" for c in range(1)], per_class=4)
    return search_on_images(tmp, fixture)


@bad_input("is a link to a folder: its images would be counted again", writes_nothing_at="run")
def search_on_a_folder_with_a_link_to_its_parent(tmp, fixture):
    """os.walk followed the link: class c0's images were read again as c1's, silently."""
    write_image_folder(tmp / "images", [f"c{c}" for c in range(10)], per_class=2)
    (tmp / "images" / "c1" / "more").symlink_to(tmp / "images" / "c0")
    return search_on_images(tmp, fixture)


@bad_input("holds", writes_nothing_at="run")
def search_on_a_folder_with_a_class_that_links_above_it(tmp, fixture):
    """A class folder linking to the root took every image of every class under one label."""
    write_image_folder(tmp / "images", [f"c{c}" for c in range(9)], per_class=2)
    (tmp / "images" / "c9").symlink_to(tmp / "images")
    return search_on_images(tmp, fixture)


def retrain_on_cifar_with_labels(tmp: Path, fixture, labels: list[int]) -> list[str]:
    from fake_data import write_fake_cifar

    write_fake_cifar(tmp / "cifar", per_batch=4)
    batch = tmp / "cifar" / "cifar-10-batches-py" / "data_batch_3"
    import pickle
    content = pickle.loads(batch.read_bytes())
    batch.write_bytes(pickle.dumps({**content, "labels": labels}, protocol=4))
    return ["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(fixture("tiny_run") / "search/arch.json"),
            "--run_dir", str(tmp / "run"), "--data.class_path", "hwnas.data.Cifar10DataModule",
            "--data.init_args.root", str(tmp / "cifar")]


@bad_input("data_batch_3: label 12 is not a class 0-9", writes_nothing_at="run")
def retrain_on_cifar_with_a_label_out_of_range(tmp, fixture):
    """It failed mid-training, inside the loss."""
    return retrain_on_cifar_with_labels(tmp, fixture, [1, 12, 3, 4])


@bad_input("data_batch_3: 3 labels for 4 images", writes_nothing_at="run")
def retrain_on_cifar_with_a_label_missing(tmp, fixture):
    return retrain_on_cifar_with_labels(tmp, fixture, [1, 2, 3])


@bad_input(".png: not a readable image (UnidentifiedImageError", writes_nothing_at="run/arch.json")
def search_on_a_folder_with_corrupt_images(tmp, fixture):
    """PIL's error named no file. (All of a class is corrupt, so that the train split holds some.)"""
    write_image_folder(tmp / "images", [f"c{c}" for c in range(10)], per_class=4)
    for image in (tmp / "images" / "c3").iterdir():
        image.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return search_on_images(tmp, fixture)


@bad_input("--trainer.max_epochs must be at least 1", writes_nothing_at="run")
def search_for_0_epochs(tmp, fixture):
    """It wrote an arch.json from the alphas' initial noise."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--trainer.max_epochs", "0"]


@bad_input("`max_epochs` must be a non-negative integer or -1", writes_nothing_at="run")
def search_for_minus_2_epochs(tmp, fixture):
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--trainer.max_epochs", "-2"]


@bad_input("no arch step would run", writes_nothing_at="run")
def search_whose_warmup_is_all_of_it(tmp, fixture):
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"),
            "--model.one_shot.epochs", "2", "--trainer.max_epochs", "2"]


@bad_input("target_ms", writes_nothing_at="run")
def search_for_a_target_of_zero(tmp, fixture):
    args = fixture("tiny_search_args")
    args = [*args[:args.index("--model.target_ms")], "--model.target_ms", "0", *args[args.index("--model.target_ms") + 2:]]
    return [*SEARCH, "--run_dir", str(tmp / "run"), *args]


@bad_input("--model.one_shot.max_drop_prob must be in [0, 1), got 1.5", writes_nothing_at="run")
def search_with_a_drop_probability_over_1(tmp, fixture):
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--model.one_shot.max_drop_prob", "1.5"]


@bad_input("held-out arch split", writes_nothing_at="run")
def search_without_an_arch_split(tmp, fixture):
    """It ended in a TypeError inside training_step."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--data.init_args.arch_fraction", "0"]


@bad_input("--model.algorithm.arch_lr must be a finite number ≥ 0, got nan", writes_nothing_at="run")
def search_with_a_nan_learning_rate_in_its_recipe(tmp, fixture):
    """YAML's .nan: it ended in a multinomial error after the warm-up (the command line refuses nan itself)."""
    recipe = Path("recipes/search_demo.yaml").read_text().replace("arch_lr: 0.1,", "arch_lr: .nan,")
    assert "arch_lr: .nan," in recipe
    (tmp / "recipe.yaml").write_text(recipe)
    return ["search", "--config", str(tmp / "recipe.yaml"), "--run_dir", str(tmp / "run"), *fixture("tiny_search_args")]


@bad_input("--model.loss.lam must be a finite number ≥ 0, got -0.5", writes_nothing_at="run")
def search_with_a_negative_latency_weight(tmp, fixture):
    """It was accepted and drove the search to the fastest arch whatever the target."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--model.loss.lam", "-0.5"]


@bad_input("ended before its first arch step", writes_nothing_at="run/arch.json")
def search_stopped_inside_the_warmup(tmp, fixture):
    """It exited 0 with an arch.json drawn from the alphas' initial p = 1/3 each."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--model.one_shot.epochs", "1",
            "--trainer.max_epochs", "3", "--trainer.max_steps", "2", "--trainer.limit_val_batches", "0"]


@bad_input("is a one-shot-only search: its alphas never trained", writes_nothing_at="out")
def derive_from_a_one_shot_only_search(tmp, fixture):
    """It wrote the most probable arch of alphas that never moved, which the search itself refuses to write."""
    assert main([*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--model.algorithm", "OneShotOnly",
                 "--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "0",
                 "--trainer.enable_progress_bar", "false"]) == 0
    return ["derive", "--ckpt", str(tmp / "run/checkpoints/last.ckpt"), "--target_ms", slowest(fixture),
            "--out", str(tmp / "out")]


@bad_input("needs onnxruntime-gpu's CUDA provider", writes_nothing_at="gpu.json")
def profile_a_gpu_without_the_cuda_provider(tmp, fixture):
    """It exported every model first, then failed."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has the CUDA provider")
    return ["profile", "--space", str(fixture("tiny_space_path")), "--device", "gpu", "--out", str(tmp / "gpu.json")]


@bad_input("positive, finite number of ms, got inf", writes_nothing_at="out")
def select_for_an_infinite_target(tmp, fixture):
    """It wrote JSON with Infinity, then crashed in matplotlib."""
    return ["select", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms", "inf",
            "--out", str(tmp / "out")]


@bad_input("positive, finite number of ms, got inf", writes_nothing_at="out")
def derive_for_an_infinite_target(tmp, fixture):
    return ["derive", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms", "inf",
            "--out", str(tmp / "out")]


@bad_input("threads must be at least 1", writes_nothing_at="export")
def export_with_0_threads(tmp, fixture):
    """It exported and converted the model before refusing."""
    return ["export", "--run", str(fixture("tiny_run") / "retrain"), "--out", str(tmp / "export"), "--threads", "0"]


@bad_input("point --run at a whole retrain folder", writes_nothing_at="export")
def export_int8_of_a_folder_without_its_config(tmp, fixture):
    """The hint named --data-config, which export does not have."""
    shutil.copytree(fixture("tiny_run") / "retrain", tmp / "retrain")
    shutil.rmtree(tmp / "retrain" / "logs")
    return ["export", "--run", str(tmp / "retrain"), "--out", str(tmp / "export"), "--int8", "2"]


@bad_input("is a file: name a folder to write into")
def search_into_a_run_dir_that_is_a_file(tmp, fixture):
    """It trained, then failed writing its first checkpoint."""
    (tmp / "run").write_text("notes")
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args")]


@bad_input("is a file: name a folder to write into")
def derive_into_an_out_that_is_a_file(tmp, fixture):
    """It derived (and measured), then ended in NotADirectoryError."""
    (tmp / "out").write_text("notes")
    return ["derive", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms",
            str(fixture("tiny_target_ms")), "--out", str(tmp / "out")]


@bad_input("is a file: name a folder to write into")
def select_into_an_out_that_is_a_file(tmp, fixture):
    (tmp / "out").write_text("notes")
    return ["select", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--target_ms",
            str(fixture("tiny_target_ms")), "--out", str(tmp / "out")]


@bad_input("is a file, so")
def export_into_a_folder_under_a_file(tmp, fixture):
    (tmp / "notes").write_text("notes")
    return ["export", "--run", str(fixture("tiny_run") / "retrain"), "--out", str(tmp / "notes" / "export")]


@bad_input("resume with the --model.space", writes_nothing_at="run")
def search_resumed_from_another_spaces_checkpoint(tmp, fixture):
    """It printed ~100 lines of size mismatches."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), "--trainer.max_epochs", "1",
            "--ckpt_path", str(fixture("tiny_run") / "search/checkpoints/last.ckpt")]


@bad_input("resume with the --arch it was saved with", writes_nothing_at="run")
def retrain_resumed_from_a_search_checkpoint(tmp, fixture):
    return ["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(fixture("tiny_run") / "search/arch.json"),
            "--run_dir", str(tmp / "run"), "--ckpt_path", str(fixture("tiny_run") / "search/checkpoints/last.ckpt")]


@bad_input("not a readable checkpoint", writes_nothing_at="run")
def search_resumed_from_a_file_that_is_not_a_checkpoint(tmp, fixture):
    (tmp / "last.ckpt").write_text("hello")
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--ckpt_path", str(tmp / "last.ckpt")]


# --- the command line and recipes ----------------------------------------------------------------------

@bad_input("unrecognized arguments: --model.target_mss")
def search_with_a_misspelt_option(tmp, fixture):
    """LightningCLI printed ~55 lines of usage before the message, which came last."""
    return [*SEARCH, "--model.target_mss", "0.1"]


@bad_input("Expected a <class 'float'>. Got value: abc")
def search_with_a_target_that_is_not_a_number(tmp, fixture):
    return [*SEARCH, "--model.target_ms", "abc"]


@bad_input("come from the space")
def search_with_channels_on_the_command_line(tmp, fixture):
    """The link from the space overwrote `--data.init_args.channels 3` without a word."""
    return [*SEARCH, "--data.init_args.channels", "3"]


@bad_input("data.init_args.resolution: the data's resolution and channels come from the space")
def search_with_a_recipe_that_sets_the_resolution(tmp, fixture):
    recipe = Path("recipes/search_demo.yaml").read_text().replace("    batch_size: 64", "    batch_size: 64\n    resolution: 32")
    (tmp / "recipe.yaml").write_text(recipe)
    return ["search", "--config", str(tmp / "recipe.yaml"), "--run_dir", str(tmp / "run")]


@bad_input("Group 'model' does not accept option 'target_mss'")
def search_with_a_recipe_that_misspells_a_field(tmp, fixture):
    recipe = Path("recipes/search_demo.yaml").read_text().replace("  target_ms:", "  target_mss:")
    (tmp / "recipe.yaml").write_text(recipe)
    return ["search", "--config", str(tmp / "recipe.yaml"), "--run_dir", str(tmp / "run")]


@bad_input("resume with the --model.space", writes_nothing_at="run/arch.json")
def search_resumed_from_last_of_another_spaces_run(tmp, fixture):
    """`--ckpt_path last` skipped the resume checks: 124 lines of size mismatches from Lightning."""
    shutil.copytree(fixture("tiny_run") / "search" / "checkpoints", tmp / "run" / "checkpoints")
    return [*SEARCH, "--run_dir", str(tmp / "run"), "--trainer.max_epochs", "1", "--ckpt_path", "last"]


@bad_input("hwnas resumes from `last`", writes_nothing_at="run")
def search_resumed_from_best(tmp, fixture):
    return [*SEARCH, "--run_dir", str(tmp / "run"), "--trainer.max_epochs", "1", "--ckpt_path", "best"]


@bad_input("--seed_everything is an integer in [0, 2^32), got -1", writes_nothing_at="run")
def search_with_a_negative_seed(tmp, fixture):
    """A ValueError traceback from Lightning's seed_everything."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), "--seed_everything", "-1"]


@bad_input("a seed is an integer ≥ 0, got '-1'")
def validate_a_table_with_a_negative_seed(tmp, fixture):
    """A numpy traceback, after every subnet had been exported."""
    return ["validate-table", str(fixture("tiny_table_path")), "--seed", "-1"]


@bad_input("a seed is an integer ≥ 0, got '-3'", writes_nothing_at="out")
def select_with_a_negative_seed(tmp, fixture):
    return ["select", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"),
            "--target_ms", slowest(fixture),
            "--seed", "-3", "--out", str(tmp / "out")]


@bad_input("argument --threads: invalid int value: 'two' (`hwnas measure --help` lists the options)")
def measure_with_threads_that_are_not_a_number(tmp, fixture):
    """argparse printed its usage (3 lines) above the error."""
    return ["measure", "--onnx", "model.onnx", "--threads", "two"]


@bad_input("alone need", writes_nothing_at="out")
def derive_under_an_activation_cap_below_the_stems(tmp, fixture):
    return ["derive", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"),
            "--target_ms", slowest(fixture),
            "--max_activation_kb", "1", "--out", str(tmp / "out")]


@bad_input("within the memory caps", writes_nothing_at="out")
def select_under_a_weight_cap_no_arch_meets(tmp, fixture):
    return ["select", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"),
            "--target_ms", slowest(fixture),
            "--max_weight_mb", "0.001", "--out", str(tmp / "out")]


@bad_input("--max_weight_mb must be a positive, finite number, got -2.0", writes_nothing_at="out")
def front_with_a_negative_weight_cap(tmp, fixture):
    return ["front", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--table",
            str(fixture("tiny_table_path")), "--max_weight_mb", "-2", "--out", str(tmp / "out")]


# --- files shaped to hurt (strict_files.py) ----------------------------------------------------------

@bad_input("not valid YAML (duplicate key 'channels' at line", writes_nothing_at="t.json")
def profile_a_space_with_a_duplicate_key(tmp, fixture):
    """Last wins, silently, in a file that is meant to be strict: the stem took the second width."""
    text = fixture("tiny_space_path").read_text()
    (tmp / "space.yaml").write_text(text.replace("stem: {channels: 8", "stem: {channels: 8, channels: 16", 1))
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


@bad_input("not valid YAML (duplicate key 'target_ms' at line", writes_nothing_at="run")
def search_with_a_recipe_that_sets_a_field_twice(tmp, fixture):
    recipe = Path("recipes/search_demo.yaml").read_text().replace("  table: ", "  target_ms: 0.02\n  table: ")
    (tmp / "recipe.yaml").write_text(recipe)
    return ["search", "--config", str(tmp / "recipe.yaml"), "--run_dir", str(tmp / "run")]


@bad_input("nested deeper than 64 levels", writes_nothing_at="out")
def predict_an_arch_nested_100000_deep(tmp, fixture):
    """A RecursionError traceback from the JSON parser."""
    (tmp / "arch.json").write_text("[" * 100_000 + "]" * 100_000)
    return ["predict", "--arch", str(tmp / "arch.json"), "--table", str(fixture("tiny_table_path"))]


@bad_input("nested deeper than 64 levels", writes_nothing_at="t.json")
def profile_a_space_nested_100000_deep(tmp, fixture):
    (tmp / "space.yaml").write_text("a: " + "[" * 100_000 + "]" * 100_000)
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


@bad_input("duplicate key 'median_ms'")
def predict_with_a_table_whose_entry_says_its_median_twice(tmp, fixture):
    text = fixture("tiny_table_path").read_text()
    (tmp / "t.json").write_text(text.replace('"median_ms":', '"median_ms": 1e9, "median_ms":', 1))
    arch = fixture("tiny_run") / "search" / "arch.json"
    return ["predict", "--arch", str(arch), "--table", str(tmp / "t.json")]


# --- folders received from others ---------------------------------------------------------------------

PLANTED = "planted_data"  # a module a received run folder brings along, named by its config


def received_run(tmp: Path, fixture, stage: str) -> Path:
    """A copy of the tiny run's `stage` folder whose config names a data module the folder brings
    itself; importing that module would write tmp/ran."""
    import yaml

    folder = tmp / "received" / stage
    shutil.copytree(fixture("tiny_run") / stage, folder)
    config = yaml.safe_load((folder / "logs/config.yaml").read_text())
    config["data"]["class_path"] = f"{PLANTED}.Data"
    (folder / "logs/config.yaml").write_text(yaml.safe_dump(config))
    (folder / f"{PLANTED}.py").write_text(f"open({str(tmp / 'ran')!r}, 'w').close()\n")
    fixture("monkeypatch").syspath_prepend(str(folder))  # as `python -m hwnas` run inside the folder has it
    return folder


@bad_input("is not one of hwnas's data modules", writes_nothing_at="ran")
def select_from_a_run_whose_config_names_its_own_module(tmp, fixture):
    """select imported the module the config named before checking it was hwnas's: the folder's code ran."""
    folder = received_run(tmp, fixture, "search")
    return ["select", "--ckpt", str(folder / "checkpoints/last.ckpt"), "--target_ms", slowest(fixture),
            "--out", str(tmp / "out")]


@bad_input("is not one of hwnas's data modules", writes_nothing_at="ran")
def export_int8_of_a_run_whose_config_names_its_own_module(tmp, fixture):
    folder = received_run(tmp, fixture, "retrain")
    return ["export", "--run", str(folder), "--out", str(tmp / "export"), "--int8", "1"]


@bad_input("is a symbolic link, not this run folder's lock", writes_nothing_at="run/arch.json")
def search_into_a_run_folder_whose_lock_is_a_link(tmp, fixture):
    """The lock was opened for writing through the link: the file it pointed to was emptied."""
    (tmp / "precious.txt").write_text("keep me")
    (tmp / "run").mkdir()
    (tmp / "run" / ".lock").symlink_to(tmp / "precious.txt")
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args")]


@bad_input("LOCAL_RANK=1 is set in the environment", writes_nothing_at="run")
def search_with_local_rank_set_in_the_shell(tmp, fixture):
    """Taken for a DDP rank: no lock, no moving aside of the earlier records, and no record written."""
    fixture("monkeypatch").setenv("LOCAL_RANK", "1")
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args")]


def test_a_lock_that_is_a_link_leaves_its_target_alone(tiny_search_args, tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / ".lock").symlink_to(tmp_path / "precious.txt")
    assert main([*SEARCH, "--run_dir", str(tmp_path / "run"), *tiny_search_args]) == 2
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_a_trusted_run_folder_may_name_its_own_data_module(tiny_run, tmp_path, monkeypatch, request):
    """--trust-data-module is the user's word that the folder's code may run: then it is imported."""
    folder = received_run(tmp_path, request.getfixturevalue, "retrain")
    assert main(["export", "--run", str(folder), "--out", str(tmp_path / "export"), "--int8", "1",
                 "--trust_data_module"]) == 2  # the planted module has no data module in it, which is said
    assert (tmp_path / "ran").exists()


# --- inputs that never end -----------------------------------------------------------------------------

@bad_input("not a regular file (a pipe, a device or a socket)")
def predict_with_a_table_that_is_a_fifo(tmp, fixture):
    """Opening the pipe waited for a writer forever."""
    os.mkfifo(tmp / "table.json")
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table", str(tmp / "table.json")]


@bad_input("/dev/zero: not a regular file")
def predict_an_arch_that_is_dev_zero(tmp, fixture):
    """/dev/zero was read until memory ran out."""
    return ["predict", "--arch", "/dev/zero", "--table", str(fixture("tiny_table_path"))]


@bad_input("/dev/urandom: not a regular file", writes_nothing_at="run")
def search_with_a_config_that_is_dev_urandom(tmp, fixture):
    return ["search", "--config", "/dev/urandom", "--run_dir", str(tmp / "run")]


@bad_input("not a regular file", writes_nothing_at="out")
def derive_from_a_checkpoint_whose_table_is_a_fifo(tmp, fixture):
    """A checkpoint from a stranger names the table its search used: a pipe there hung derive."""
    checkpoint = torch.load(fixture("tiny_run") / "search/checkpoints/last.ckpt", weights_only=True)
    os.mkfifo(tmp / "pipe.json")
    checkpoint["hwnas"]["table"]["path"] = str(tmp / "pipe.json")
    torch.save(checkpoint, tmp / "last.ckpt")
    return ["derive", "--ckpt", str(tmp / "last.ckpt"), "--target_ms", slowest(fixture), "--out", str(tmp / "out")]


# --- requests that cannot be met ------------------------------------------------------------------------

@bad_input("threads must be at most")
def measure_with_100000_threads(tmp, fixture):
    """ONNX Runtime started every thread: it never reached the first run."""
    return ["measure", "--onnx", str(fixture("tiny_run") / "export/model.onnx"), "--threads", "100000"]


@bad_input("--subnets must be in 2-1000, got 100000", writes_nothing_at="t.json")
def onboard_100000_subnets(tmp, fixture):
    """It drew random archs for minutes over a space of 18, then quietly timed those."""
    return ["onboard", "--from", str(fixture("tiny_table_path")), "--out", str(tmp / "t.json"), "--subnets", "100000"]


@bad_input("--calibration_samples must be in 2-1000, got 100000", writes_nothing_at="kit")
def kit_with_100000_calibration_subnets(tmp, fixture):
    return ["kit", "--space", str(fixture("tiny_space_path")), "--out", str(tmp / "kit"), "--calibration_samples",
            "100000"]


@bad_input("--pool in 1-100000", writes_nothing_at="out")
def front_with_a_pool_of_100000000(tmp, fixture):
    return ["front", "--ckpt", str(fixture("tiny_run") / "search/checkpoints/last.ckpt"), "--table",
            str(fixture("tiny_table_path")), "--pool", "100000000", "--out", str(tmp / "out")]


def space_with(tmp: Path, fixture, old: str, new: str) -> list[str]:
    (tmp / "space.yaml").write_text(fixture("tiny_space_path").read_text().replace(old, new, 1))
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


@bad_input("'stages[0].depth' must be in 1-512, got 100000", writes_nothing_at="t.json")
def profile_a_space_of_depth_100000(tmp, fixture):
    """It exported layer after layer, forever."""
    return space_with(tmp, fixture, "depth: 2", "depth: 100000")


@bad_input("'stem.channels' must be in 1-65536", writes_nothing_at="t.json")
def profile_a_space_of_10_to_the_20_channels(tmp, fixture):
    return space_with(tmp, fixture, "stem: {channels: 8", "stem: {channels: 100000000000000000000")


@bad_input("'input.resolution' must be in 1-4096, got 100000000", writes_nothing_at="t.json")
def profile_a_space_of_resolution_10_to_the_8(tmp, fixture):
    return space_with(tmp, fixture, "resolution: 8", "resolution: 100000000")


@bad_input("holds 1 arch(s): a table is calibrated on whole subnets", writes_nothing_at="t.json")
def profile_a_space_of_one_arch(tmp, fixture):
    """It exported and timed everything, then asked for more calibration samples."""
    text = fixture("tiny_space_path").read_text().replace("ops: [mb_k3_e1, mb_k7_e6]", "ops: [mb_k3_e1]")
    (tmp / "space.yaml").write_text(text.replace("zero_where_allowed: true", "zero_where_allowed: false"))
    return ["profile", "--space", str(tmp / "space.yaml"), "--out", str(tmp / "t.json")]


# --- numbers that cannot be -------------------------------------------------------------------------------

def table_with(tmp: Path, fixture, edit) -> Path:
    table = json.loads(fixture("tiny_table_path").read_text())
    edit(table)
    (tmp / "t.json").write_text(json.dumps(table))
    return tmp / "t.json"


def predict_on(tmp: Path, fixture, edit) -> list[str]:
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table",
            str(table_with(tmp, fixture, edit))]


@bad_input("names 0 fitted subnets")
def predict_with_a_calibration_of_no_subnets(tmp, fixture):
    """Its own check needs the fitted subnets: without them per_op_ms -1 predicted negative latencies."""
    return predict_on(tmp, fixture, lambda t: t["calibration"].update(fitted_on=[], per_op_ms=-1.0))


@bad_input("median_ms is True, not a finite number")
def predict_with_an_entry_whose_median_is_true(tmp, fixture):
    """JSON's true was taken for 1 ms."""
    return predict_on(tmp, fixture, lambda t: next(iter(t["entries"].values())).update(median_ms=True))


def import_edited(tmp: Path, fixture, edit) -> list[str]:
    results = json.loads(fixture("tiny_kit_results").read_text())
    edit(results)
    (tmp / "results.json").write_text(json.dumps(results))
    return ["import-table", str(tmp / "results.json"), "--out", str(tmp / "t.json")]


@bad_input("device kind 'x' is none of cpu, gpu, mobile", writes_nothing_at="t.json")
def import_results_of_device_kind_x(tmp, fixture):
    return import_edited(tmp, fixture, lambda r: r["device"].update(kind="x"))


@bad_input("device threads -1 is not a whole number", writes_nothing_at="t.json")
def import_results_of_minus_1_threads(tmp, fixture):
    return import_edited(tmp, fixture, lambda r: r["device"].update(threads=-1))


@bad_input("quartiles out of order", writes_nothing_at="t.json")
def import_results_whose_p25_is_above_the_median(tmp, fixture):
    def swap(results):
        stats = next(iter(results["stats"].values()))
        stats["p25_ms"], stats["median_ms"] = stats["median_ms"] * 2, stats["median_ms"]
    return import_edited(tmp, fixture, swap)


@bad_input("which no measurement gives", writes_nothing_at="t.json")
def import_results_scaled_by_1e_minus_290(tmp, fixture):
    """Every latency × 1e-290 made a table "spanning 0.000-0.000 ms"."""
    def scale(results):
        for stats in results["stats"].values():
            stats.update({name: value * 1e-290 for name, value in stats.items()})
    return import_edited(tmp, fixture, scale)


def export_with_provenance(tmp: Path, fixture, **fields) -> list[str]:
    shutil.copytree(fixture("tiny_run") / "retrain", tmp / "retrain", ignore=shutil.ignore_patterns(".lock"))
    record = json.loads((tmp / "retrain/arch.json").read_text())
    record["provenance"].update(fields)
    (tmp / "retrain/arch.json").write_text(json.dumps(record))
    return ["export", "--run", str(tmp / "retrain"), "--out", str(tmp / "export")]


@bad_input("target_ms is True, not a finite number", writes_nothing_at="export")
def export_an_arch_whose_target_is_true(tmp, fixture):
    """The card said target_met: true for a target of `true`."""
    return export_with_provenance(tmp, fixture, target_ms=True)


@bad_input("floor is 5, not in [0, 1]", writes_nothing_at="export")
def export_an_arch_whose_floor_is_5(tmp, fixture):
    return export_with_provenance(tmp, fixture, floor=5)


# --- checked too late ----------------------------------------------------------------------------------------

def arch_with_a_reference_of_0_ms(tmp: Path, fixture) -> Path:
    record = json.loads((fixture("tiny_run") / "search/arch.json").read_text())
    measurement = record["provenance"]["measurement"] or record["provenance"]["tries"][0]["measurement"]
    record["provenance"]["measurement"] = {**measurement, "reference_now_ms": 0}
    (tmp / "arch.json").write_text(json.dumps(record))
    return tmp / "arch.json"


@bad_input("reference_now_ms is 0 ms, which no measurement gives")
def predict_an_arch_measured_beside_a_reference_of_0_ms(tmp, fixture):
    return ["predict", "--arch", str(arch_with_a_reference_of_0_ms(tmp, fixture)), "--table",
            str(fixture("tiny_table_path"))]


@bad_input("reference_now_ms is 0 ms, which no measurement gives", writes_nothing_at="run")
def retrain_an_arch_measured_beside_a_reference_of_0_ms(tmp, fixture):
    """It trained to the end, then failed writing its record: the trained net was lost."""
    return ["retrain", "--config", "recipes/retrain_demo.yaml", "--arch", str(arch_with_a_reference_of_0_ms(tmp, fixture)),
            "--run_dir", str(tmp / "run")]


@bad_input("not an hwnas retrain summary (KeyError: 'test_accuracy')", writes_nothing_at="export")
def export_a_run_whose_summary_has_no_accuracy(tmp, fixture):
    """A KeyError traceback after ~7 s of export."""
    shutil.copytree(fixture("tiny_run") / "retrain", tmp / "retrain", ignore=shutil.ignore_patterns(".lock"))
    summary = json.loads((tmp / "retrain/retrain.json").read_text())
    del summary["test_accuracy"]
    (tmp / "retrain/retrain.json").write_text(json.dumps(summary))
    return ["export", "--run", str(tmp / "retrain"), "--out", str(tmp / "export")]


@bad_input("--model.seed is an integer ≥ 0, got -1", writes_nothing_at="run")
def search_with_a_model_seed_of_minus_1(tmp, fixture):
    """It failed inside the first step."""
    return [*SEARCH, "--run_dir", str(tmp / "run"), *fixture("tiny_search_args"), "--model.seed", "-1"]


@bad_input("hwnas retrain needs --arch")
def retrain_without_an_arch(tmp, fixture):
    """jsonargparse's "Call to compute_fn of link …"."""
    return ["retrain", "--config", "recipes/retrain_demo.yaml", "--run_dir", str(tmp / "run")]


# --- outputs and messages -------------------------------------------------------------------------------

@bad_input("--run_dir is empty")
def search_into_an_empty_run_dir(tmp, fixture):
    """It spread the run's files over the current folder."""
    return [*SEARCH, "--run_dir", "", *fixture("tiny_search_args")]


@bad_input("is not there any more (moved or deleted): pass --table with where it is now", writes_nothing_at="out")
def derive_from_a_search_whose_table_moved(tmp, fixture):
    """It said "re-run `hwnas profile`", with no word of --table."""
    checkpoint = torch.load(fixture("tiny_run") / "search/checkpoints/last.ckpt", weights_only=True)
    checkpoint["hwnas"]["table"]["path"] = str(tmp / "moved.json")
    torch.save(checkpoint, tmp / "last.ckpt")
    return ["derive", "--ckpt", str(tmp / "last.ckpt"), "--target_ms", slowest(fixture), "--out", str(tmp / "out")]


@bad_input("profile this space into its own table")
def predict_with_the_table_of_another_space(tmp, fixture):
    """The advice was to re-run `hwnas profile --out` onto the table given: a good committed table."""
    return ["predict", "--arch", str(fixture("tiny_run") / "search/arch.json"), "--table",
            "latency_tables/demo-cpu.json"]


@bad_input("holds files that are not an earlier output of this command", writes_nothing_at="home/model.onnx")
def export_into_a_folder_of_other_files(tmp, fixture):
    """The folder was replaced whole: an --out of ~ would have taken the home folder with it."""
    (tmp / "home").mkdir()
    (tmp / "home" / "thesis.tex").write_text("years of work")
    return ["export", "--run", str(fixture("tiny_run") / "retrain"), "--out", str(tmp / "home")]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, request, capfd):
    build, says, writes_nothing_at = CASES[case]
    command = build(tmp_path, request.getfixturevalue)
    capfd.readouterr()  # what setting the scene printed (the session's fixtures run their stages)
    assert main(command) == 2
    err = capfd.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("hwnas: error:")]
    assert len(errors) == 1 and says in errors[0], err
    assert "Traceback" not in err
    if writes_nothing_at:
        left = tmp_path / writes_nothing_at
        assert not left.exists() or (left.is_dir() and not any(left.iterdir()))


def test_ctrl_c_during_a_profile_says_how_to_resume(tiny_space_path, tmp_path, monkeypatch, capsys):
    import hwnas.profile.profile

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(hwnas.profile.profile, "profile_space", interrupted)
    assert main(["profile", "--space", str(tiny_space_path), "--out", str(tmp_path / "t.json")]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
