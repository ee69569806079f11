"""Each real-data recipe runs its search and retrain through the CLI, on tiny data written here
(CIFAR-10 python batches; an ImageFolder with train/ + val/), for a few steps: the fast
settings (steps, epochs, batch size, no derive window or measurement) are overridden on the
command line, everything else is the recipe's."""

from __future__ import annotations

import json

from fake_data import write_fake_cifar, write_image_folder
from hwnas.cli import main

FAST_SEARCH = ["--model.one_shot.epochs", "1", "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "2",
               "--trainer.limit_val_batches", "1", "--model.derive.floor", "0", "--model.derive.measure", "false"]
FAST_RETRAIN = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_test_batches", "1"]


def search_then_retrain(recipe: str, root: str, run, quiet: list[str], batch_size: int) -> dict:
    data = ["--data.init_args.root", root, "--data.init_args.batch_size", str(batch_size)]
    assert main(["search", "--config", f"recipes/search_{recipe}.yaml", "--run_dir", str(run / "search"),
                 *data, *FAST_SEARCH, *quiet]) == 0
    assert main(["retrain", "--config", f"recipes/retrain_{recipe}.yaml", "--arch", str(run / "search/arch.json"),
                 "--run_dir", str(run / "retrain"), *data, *FAST_RETRAIN, *quiet]) == 0
    return json.loads((run / "retrain/retrain.json").read_text())


def test_the_cifar_recipes_search_and_retrain_on_cifar_batches(tmp_path, quiet):
    write_fake_cifar(tmp_path / "data", per_batch=16)
    result = search_then_retrain("cifar", str(tmp_path / "data"), tmp_path, quiet, batch_size=8)
    assert result["dataset"] == "Cifar10DataModule" and 0 <= result["test_accuracy"] <= 1


def on_image_folder(recipe: str, classes: int, test_split: str, tmp_path, quiet, batch_size: int) -> dict:
    """The recipe's search and retrain on an image folder of train/ and `test_split`/, one image per class."""
    for split in ("train", test_split):
        write_image_folder(tmp_path / "data" / split, [f"n{i:04d}" for i in range(classes)], per_class=1)
    result = search_then_retrain(recipe, str(tmp_path / "data"), tmp_path, quiet, batch_size)
    assert result["dataset"] == "ImageFolderDataModule" and 0 <= result["test_accuracy"] <= 1
    return result


def test_the_mobile_recipes_search_and_retrain_on_a_train_val_image_folder(tmp_path, quiet):
    """A 224×224 supernet with a 1000-class head: the slowest test of the suite."""
    on_image_folder("mobile", 1000, "val", tmp_path, quiet, batch_size=2)


def test_the_fbnet_recipes_search_on_a_phones_table_and_retrain_on_a_train_test_image_folder(tmp_path, quiet):
    """The 22-layer FBNet supernet, priced by the Pixel 3's published table: derived, not measured here."""
    on_image_folder("fbnet_cifar100", 100, "test", tmp_path, quiet, batch_size=4)
    arch = json.loads((tmp_path / "search/arch.json").read_text())
    assert arch["provenance"]["table"]["device"]["device_label"].startswith("Google Pixel 3")
