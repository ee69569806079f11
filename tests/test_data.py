"""The data modules: input shapes, labels, seeded disjoint splits, the search's dict batches,
and an error a user can act on when a dataset folder is missing or empty."""

import hashlib
import os
import pickle
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_data import write_fake_cifar, write_image_folder
from hwnas.data.cores import free_share
from hwnas.data.modules import Cifar10DataModule, DataError, DigitsDataModule, ImageFolderDataModule
from hwnas.errors import HwnasError


def _digits(**kwargs) -> DigitsDataModule:
    data = DigitsDataModule(batch_size=32, **kwargs)
    data.setup("fit")
    return data


@pytest.mark.parametrize("channels", [1, 3])
def test_digits_batches_match_the_space_input(channels):
    data = _digits(resolution=12, channels=channels)
    images, labels = next(iter(data.test_dataloader()))
    assert images.shape == (32, channels, 12, 12) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and 0 <= labels.min() and labels.max() <= 9
    assert data.num_classes == 10


def test_digits_train_split_is_normalised():
    """Mean 0 and std 1 over the train split: the statistics come from it."""
    data = _digits()
    images = torch.stack([data.train_set[i][0] for i in range(len(data.train_set))])
    assert abs(images.mean()) < 0.05 and abs(images.std() - 1) < 0.05


def test_digits_splits_are_disjoint_and_cover_everything():
    data = _digits(arch_fraction=0.2)
    train, arch, test = (set(split.indices) for split in (data.train_set, data.arch_set, data.test_set))
    assert len(train) + len(arch) + len(test) == 1797
    assert train | arch | test == set(range(1797))
    assert len(test) == round(1797 * 0.2) and len(arch) == round((1797 - len(test)) * 0.2)


def test_test_split_does_not_depend_on_arch_fraction():
    """Changing arch_fraction must not move images into or out of the test split."""
    plain, held_out = _digits(arch_fraction=0.0), _digits(arch_fraction=0.2)
    assert plain.test_set.indices == held_out.test_set.indices
    assert torch.equal(next(iter(plain.test_dataloader()))[1], next(iter(held_out.test_dataloader()))[1])
    assert _digits(seed=1).test_set.indices != plain.test_set.indices


def test_without_arch_split_training_uses_all_non_test_images_and_validates_on_test():
    data = _digits(arch_fraction=0.0)
    assert data.arch_set is None and len(data.train_set) == 1797 - len(data.test_set)
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (32, 1, 16, 16)
    assert data.val_dataloader().dataset is data.test_set


def test_with_arch_split_training_batches_are_dicts_and_validation_uses_arch():
    data = _digits(arch_fraction=0.2)
    batch, _, _ = next(iter(data.train_dataloader()))  # CombinedLoader: (batch, batch_idx, loader_idx)
    assert set(batch) == {"train", "arch"}
    for images, labels in batch.values():
        assert images.shape == (32, 1, 16, 16) and labels.shape == (32,)
    assert data.val_dataloader().dataset is data.arch_set


def test_shuffling_is_seeded():
    first, second = (next(iter(_digits(seed=3).train_dataloader()))[1] for _ in range(2))
    assert torch.equal(first, second)


def test_invalid_fraction_is_rejected():
    with pytest.raises(DataError, match="arch_fraction"):
        DigitsDataModule(arch_fraction=1.0)


def test_cifar10_loads_the_official_test_batch_as_test_split(tmp_path):
    write_fake_cifar(tmp_path)
    data = Cifar10DataModule(str(tmp_path), resolution=8, channels=3, batch_size=16, arch_fraction=0.1)
    data.setup("fit")
    assert (len(data.train_set), len(data.arch_set), len(data.test_set)) == (90, 10, 20)
    assert not set(data.train_set.indices) & set(data.arch_set.indices)
    images, labels = next(iter(data.test_dataloader()))
    assert images.shape == (16, 3, 8, 8) and images.dtype == torch.float32 and labels.dtype == torch.int64


def test_cifar10_converts_rgb_to_one_channel(tmp_path):
    write_fake_cifar(tmp_path)
    data = Cifar10DataModule(str(tmp_path), resolution=16, channels=1, batch_size=8)
    data.setup("fit")
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (8, 1, 16, 16) and 0 <= labels.min() and labels.max() <= 9


def test_cifar10_missing_folder_says_where_to_put_it(tmp_path):
    data = Cifar10DataModule(str(tmp_path))
    expected = f"no CIFAR-10 at {tmp_path}/cifar-10-batches-py (missing data_batch_1"
    with pytest.raises(DataError, match=re.escape(expected)):
        data.setup("fit")


def test_cifar10_refuses_a_pickle_that_would_run_code(tmp_path):
    """A tampered batch must not execute: the unpickler only allows numpy arrays."""
    write_fake_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({"data": print, "labels": []}))
    with pytest.raises(DataError, match="test_batch: not a CIFAR-10 python batch"):
        Cifar10DataModule(str(tmp_path)).setup("fit")


def test_image_folder_loads_classes_from_subfolders(tmp_path):
    write_image_folder(tmp_path)
    data = ImageFolderDataModule(str(tmp_path), resolution=8, channels=1, batch_size=4, arch_fraction=0.25)
    assert data.num_classes == 3
    data.setup("fit")
    assert (len(data.train_set), len(data.arch_set), len(data.test_set)) == (9, 3, 3)
    batch, _, _ = next(iter(data.train_dataloader()))
    images, labels = batch["train"]
    assert images.shape == (4, 1, 8, 8) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= {0, 1, 2}


def test_image_folder_skips_hidden_folders_and_files(tmp_path):
    """A notebook's .ipynb_checkpoints became a class of its own (and a 10-class space then
    disagreed with 11 classes, naming neither)."""
    write_image_folder(tmp_path, ["cat", "dog", ".ipynb_checkpoints"], per_class=4)
    (tmp_path / "cat" / ".thumbnail.png").write_bytes((tmp_path / "cat" / "0.png").read_bytes())
    data = ImageFolderDataModule(str(tmp_path), resolution=8, channels=1, batch_size=4, test_fraction=0.25)
    data.setup("fit")
    assert data.num_classes == 2 and len(data.train_set) + len(data.test_set) == 8


def test_image_folder_gray_is_repeated_to_three_channels(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):  # uniform gray squares, saved as 1-channel PNGs
            Image.fromarray(np.full((6, 6), 40 * i, dtype=np.uint8)).save(tmp_path / name / f"{i}.png")
    data = ImageFolderDataModule(str(tmp_path), resolution=6, channels=3, batch_size=6, test_fraction=0.5)
    data.setup("fit")
    images, _ = next(iter(data.test_dataloader()))
    assert images.shape == (3, 3, 6, 6)
    assert images[:, 0].std() > 0  # the images differ, so equal channels are not trivially equal
    assert torch.allclose(images[:, 0], images[:, 1]) and torch.allclose(images[:, 0], images[:, 2])


@pytest.mark.parametrize("make", [
    lambda root: None,
    lambda root: root.mkdir(),
    lambda root: (root / "cat").mkdir(parents=True),
], ids=["missing", "empty", "class-without-images"])
def test_image_folder_without_images_is_a_clear_error(tmp_path, make):
    root = tmp_path / "images"
    make(root)
    with pytest.raises(DataError, match=re.escape(f"no images at {root}: expected one subfolder per class")):
        ImageFolderDataModule(str(root)).setup("fit")


def _files(split) -> set[str]:
    """The image paths behind a split, so splits read from different folders can be compared."""
    return {split.dataset.samples[i][0] for i in split.indices}


@pytest.mark.parametrize("test_name", ["test", "val"])
def test_image_folder_split_layout_takes_the_test_split_from_its_folder(tmp_path, test_name):
    """train/ + test/ (or val/): the test split is exactly that folder, and only train/ is
    shuffled into arch and train; a random split of everything would mix the two."""
    write_image_folder(tmp_path / "train", per_class=6)
    write_image_folder(tmp_path / test_name, per_class=2)
    data = ImageFolderDataModule(str(tmp_path), resolution=8, batch_size=4, arch_fraction=1 / 3)
    assert data.num_classes == 3  # the classes of train/, not the folders train/ and test/
    data.setup("fit")
    assert (len(data.train_set), len(data.arch_set), len(data.test_set)) == (12, 6, 6)
    test_files = {str(path) for path in (tmp_path / test_name).rglob("*.png")}
    train_files = {str(path) for path in (tmp_path / "train").rglob("*.png")}
    assert _files(data.test_set) == test_files
    assert _files(data.train_set) | _files(data.arch_set) == train_files
    assert not _files(data.train_set) & _files(data.arch_set)
    images, labels = next(iter(data.test_dataloader()))
    assert images.shape == (4, 1, 8, 8) and set(labels.tolist()) <= {0, 1, 2}


def test_image_folder_train_without_test_folder_is_a_clear_error(tmp_path):
    """train/ alone is a split layout missing its test split, not a dataset with one class "train"."""
    write_image_folder(tmp_path / "train")
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'train'} has no test split beside it: add")):
        ImageFolderDataModule(str(tmp_path)).setup("fit")


def test_image_folder_with_both_test_and_val_is_ambiguous(tmp_path):
    """Which one the user evaluates on is theirs to say: the message names the folder to remove."""
    for name in ("train", "test", "val"):
        write_image_folder(tmp_path / name)
    with pytest.raises(DataError, match=re.escape(f"{tmp_path} has both test/ and val/")) as error:
        ImageFolderDataModule(str(tmp_path)).setup("fit")
    assert f"remove or rename {tmp_path / 'val'}" in str(error.value)
    assert f"remove or rename {tmp_path / 'test'}" in str(error.value)


def test_image_folder_train_and_test_classes_must_match(tmp_path):
    """Labels are indices into the sorted class names, so differing classes would mislabel test images."""
    write_image_folder(tmp_path / "train", classes=("cat", "dog", "fox"))
    write_image_folder(tmp_path / "test", classes=("cat", "dog", "owl"))
    expected = (f"{tmp_path / 'test'} and {tmp_path / 'train'} have different class folders "
                f"(only in train/: fox; only in test/: owl)")
    with pytest.raises(DataError, match=re.escape(expected)):
        ImageFolderDataModule(str(tmp_path)).setup("fit")


@pytest.mark.parametrize("augment", ["crop_flip", "resized_crop_flip"])
def test_augmentation_changes_the_train_split_only(tmp_path, augment):
    write_fake_cifar(tmp_path)
    plain, augmented = (Cifar10DataModule(str(tmp_path), resolution=16, channels=3, batch_size=8, arch_fraction=0.2,
                                          augment=name) for name in ("none", augment))
    for data in (plain, augmented):
        data.setup("fit")
    torch.manual_seed(0)
    train_images = [augmented.train_set[i][0] for i in range(8)]
    assert all(image.shape == (3, 16, 16) for image in train_images)
    assert any(not torch.equal(image, plain.train_set[i][0]) for i, image in enumerate(train_images))
    for split in ("arch_set", "test_set"):
        assert torch.equal(getattr(augmented, split)[0][0], getattr(plain, split)[0][0])


def test_an_unknown_augmentation_is_refused_before_any_data_is_read():
    with pytest.raises(HwnasError, match="unknown augment 'flip': use one of none, crop_flip, resized_crop_flip"):
        DigitsDataModule(augment="flip")


def test_image_folders_take_the_free_cores_beside_the_threads_and_memory_data_loads_in_the_main_process(
        tmp_path, monkeypatch):
    """On 2 idle cores: 2 torch threads and no worker; 8 idle cores: 4 workers at most beside 1 thread;
    2 cores of which one is busy: 1 thread, no worker."""
    import hwnas.data.cores as cores

    write_image_folder(tmp_path)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(2)))
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 0)  # this process alone
    assert (free_share().threads, free_share().disk_workers) == (2, 0)
    assert ImageFolderDataModule(str(tmp_path)).num_workers == 0
    assert free_share(threads=1).disk_workers == 1
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 1)  # and one other
    assert (free_share().threads, free_share().disk_workers) == (1, 0)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 0)
    assert free_share(threads=1).disk_workers == 4
    assert DigitsDataModule().num_workers == 0
    assert DigitsDataModule(num_workers=2).num_workers == 2


def test_what_runs_now_counts_not_the_load_average_of_the_last_minute(monkeypatch):
    """A training started a second ago (the load average still 0) takes a core; one that ended a second
    ago (the load average still 1.5) takes none; a one-look spike takes none."""
    import hwnas.data.cores as cores

    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(2)))
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 1)  # the training beside it
    assert free_share().threads == 1
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (1.5, 0.0, 0.0))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: 0)
    assert free_share().threads == 2
    looks = iter([2] + [0] * (cores.LOOKS - 1))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: next(looks))
    assert free_share().threads == 2


def test_without_a_count_of_runnable_tasks_the_load_average_decides(monkeypatch):
    import hwnas.data.cores as cores

    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda pid: set(range(2)))
    monkeypatch.setattr(cores, "others_runnable_now", lambda: None)
    monkeypatch.setattr(cores.os, "getloadavg", lambda: (1.2, 0.0, 0.0))
    assert free_share().threads == 1


def test_other_work_is_the_machine_runnable_tasks_less_this_process_own(monkeypatch):
    import hwnas.data.cores as cores

    monkeypatch.setattr(cores, "machine_runnable_now", lambda: 3)
    monkeypatch.setattr(cores, "own_runnable_threads", lambda: 2)
    assert cores.others_runnable_now() == 1
    monkeypatch.setattr(cores, "own_runnable_threads", lambda: 4)  # counted a moment later, mid-step
    assert cores.others_runnable_now() == 0
    monkeypatch.setattr(cores, "machine_runnable_now", lambda: None)
    assert cores.others_runnable_now() is None


@pytest.mark.parametrize("stat, state", [("4242 (python) R 1 4242", "R"), ("17 (pt worker) S 1 17", "S"),
                                         ("9 (a) b) (c) D 1 9", "D"), ("9 (trunc", ""), ("", "")])
def test_a_thread_state_is_the_letter_after_its_name(stat, state):
    from hwnas.data.cores import state_in_stat

    assert state_in_stat(stat) == state


@pytest.mark.skipif(not Path("/proc/loadavg").is_file(), reason="no /proc/loadavg: not Linux")
def test_the_runnable_tasks_are_read_from_this_machine_and_this_process():
    """A process spinning beside this one is runnable at most looks; two threads of this one hashing (the
    GIL released, as torch's threads compute) are runnable threads of its own."""
    from hwnas.data.cores import machine_runnable_now, own_runnable_threads

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.1)  # started
        assert statistics.median(machine_runnable_now() for _ in range(21)) >= 2  # the spinner and this thread
    finally:
        spinner.kill()
        spinner.wait()
    data = bytes(400_000_000)  # long enough to see both hashing threads between sleeps
    hashing = [threading.Thread(target=hashlib.sha256, args=(data,)) for _ in range(2)]
    for thread in hashing:
        thread.start()
    seen = []
    while any(thread.is_alive() for thread in hashing):
        seen.append(own_runnable_threads())
        time.sleep(0.01)  # the GIL released, so a thread not yet hashing gets to start
    assert max(seen) >= 3  # this thread and the two hashing
