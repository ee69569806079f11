"""LightningDataModules for image classification: digits (embedded), CIFAR-10, ImageFolder.

Every module serves images the search space expects: float32 (B, channels, resolution,
resolution), resized bilinearly, gray repeated to 3 channels or RGB averaged to 1, normalised
per channel; labels int64. They differ only in how they load the data (`_load`).

Splits, all fixed by `seed` through one torch.Generator (never the global RNG)::

    all images ──shuffle(seed)──► [ test | arch | train ]
                                     │      │      └─ weight steps (train_dataloader)
                                     │      └──────── arch steps of the search: arch_fraction of
                                     │                the non-test images; val_dataloader
                                     └─────────────── test_fraction of all images (test_dataloader)

The test split is cut first from the same permutation, so it does not depend on arch_fraction.
A dataset with an official test set uses it instead and shuffles only its train set into
[ arch | train ]: CIFAR-10's test_batch, and an image folder's test/ or val/ (below).
With arch_fraction = 0 there is no arch split: training uses all non-test images and validation
the test split. Normalisation statistics come from (a seeded sample of) the train split only.

An image folder is read in one of three layouts (`_split_folders` tells them apart)::

    ROOT/train/<class>/… + ROOT/test/<class>/…   test/ is the test split, train/ is shuffled
    ROOT/train/<class>/… + ROOT/val/<class>/…    val/ is the test split, train/ is shuffled
    ROOT/<class>/…                               all images are shuffled, test_fraction is test
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.utilities.combined_loader import CombinedLoader
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Subset

from hwnas.data.augment import train_augmentation
from hwnas.data.class_folders import read_image_folder
from hwnas.data.cores import free_share
from hwnas.errors import HwnasError
from hwnas.data.seeding import EpochShuffle

if TYPE_CHECKING:  # imported where it is used: torchvision is only needed for image folders
    from torchvision.datasets import ImageFolder

_STATS_SAMPLE = 1024  # train images used for the mean/std; enough for 2 significant digits


class DataError(HwnasError):
    """A dataset that cannot be used; the message says what to fix."""


def _fit(image: Tensor, resolution: int, channels: int) -> Tensor:
    """(C, H, W) in [0, 1] → (channels, resolution, resolution); C and channels are 1 or 3."""
    if image.shape[-2:] != (resolution, resolution):
        size = (resolution, resolution)  # antialias matters when shrinking (CIFAR 32 → 16)
        image = F.interpolate(image[None], size, mode="bilinear", align_corners=False, antialias=True)[0]
    if image.shape[0] == channels:
        return image
    return image.repeat(3, 1, 1) if channels == 3 else image.mean(0, keepdim=True)


class _InMemory(Dataset):
    """Integer images held as one tensor (N, C, H, W); fitted to the input one at a time."""

    def __init__(self, images: Tensor, labels: Tensor, max_value: int, resolution: int, channels: int):
        self.images, self.labels, self.max_value = images, labels, max_value
        self.resolution, self.channels = resolution, channels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.images[index].float() / self.max_value
        return _fit(image, self.resolution, self.channels), int(self.labels[index])


class _Split(Dataset):
    """The images of `dataset` at `indices`, augmented (train split only, augment.py) and
    normalised with the train split's mean and std."""

    def __init__(self, dataset: Dataset, indices: list[int], mean: Tensor, std: Tensor,
                 augment: Callable[[Tensor], Tensor] | None = None):
        self.dataset, self.indices, self.mean, self.std, self.augment = dataset, indices, mean, std, augment

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image, label = self.dataset[self.indices[index]]
        if self.augment is not None:
            image = self.augment(image)
        return (image - self.mean) / self.std, label


class ImageDataModule(pl.LightningDataModule, ABC):
    """The splits and loaders shared by every dataset; a subclass implements `_load` and `num_classes`.

    Args:
        resolution: side of the square input in pixels (the search space's input.resolution).
        channels: 1 or 3 (the space's input.channels); gray is repeated to 3, RGB averaged to 1.
        batch_size: images per batch, in every split.
        arch_fraction: share of the non-test images held out for the search's arch steps; 0: none.
        test_fraction: share of all images in the test split; unused with an official test set.
        seed: fixes the splits and the shuffling.
        augment: the train split's augmentation: none, crop_flip (CIFAR) or resized_crop_flip
            (ImageNet); augment.py.
        num_workers: DataLoader worker processes; 0 loads in the main process; None (default): for data
            read from disk the cores the machine's load leaves beside torch's threads (data/cores.py), 0 for
            data held in memory.
        pin_memory: page-locked batches for faster copies to a GPU; None (default): when CUDA is here.
    """

    reads_from_disk = False  # True: each item is a file read and decoded, worth worker processes

    def __init__(self, resolution: int = 16, channels: int = 1, batch_size: int = 64,
                 arch_fraction: float = 0.0, test_fraction: float = 0.2, seed: int = 0, augment: str = "none",
                 num_workers: int | None = None, pin_memory: bool | None = None):
        super().__init__()
        if resolution < 1 or channels not in (1, 3) or batch_size < 1:
            raise DataError(f"need resolution ≥ 1, channels 1 or 3 and batch_size ≥ 1, got "
                            f"{resolution}, {channels}, {batch_size}")
        if not (0 <= arch_fraction < 1 and 0 < test_fraction < 1):
            raise DataError(f"need 0 ≤ arch_fraction < 1 and 0 < test_fraction < 1, got "
                            f"{arch_fraction}, {test_fraction}")
        if num_workers is not None and num_workers < 0:
            raise DataError(f"need num_workers ≥ 0, got {num_workers}")
        self.resolution, self.channels, self.batch_size = resolution, channels, batch_size
        self.arch_fraction, self.test_fraction, self.seed = arch_fraction, test_fraction, seed
        self.augment = train_augmentation(augment, resolution)  # checks the name before any data is read
        if num_workers is None:
            num_workers = free_share().disk_workers if self.reads_from_disk else 0
        self.num_workers = num_workers
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else pin_memory
        self.train_set: _Split | None = None
        self.arch_set: _Split | None = None  # stays None when arch_fraction == 0
        self.test_set: _Split | None = None

    @property
    @abstractmethod
    def num_classes(self) -> int: ...

    @abstractmethod
    def _load(self) -> tuple[Dataset, Dataset | None]:
        """(images to split, the official test set or None), items (fitted image in [0, 1], label)."""

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # the Trainer calls setup for fit and again for test
            return
        pool, official_test = self._load()
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(self.seed)).tolist()
        if official_test is None:  # cut first, so the test split does not depend on arch_fraction
            n_test = round(len(pool) * self.test_fraction)
            test_source, test, order = pool, order[:n_test], order[n_test:]
        else:
            test_source, test = official_test, list(range(len(official_test)))
        n_arch = round(len(order) * self.arch_fraction)
        arch, train = order[:n_arch], order[n_arch:]
        sizes = {"train": len(train), "arch": len(arch), "test": len(test)}
        if not (train and test and (arch or self.arch_fraction == 0)):
            raise DataError(f"{type(self).__name__}: split sizes {sizes} leave a split empty: "
                            f"use more images or change arch_fraction / test_fraction")
        mean, std = self._stats(Subset(pool, train[:_STATS_SAMPLE]))  # train is shuffled already
        self.train_set = _Split(pool, train, mean, std, self.augment)
        self.arch_set = _Split(pool, arch, mean, std) if arch else None
        self.test_set = _Split(test_source, test, mean, std)

    def _stats(self, sample: Dataset) -> tuple[Tensor, Tensor]:
        """Per-channel mean and std, each (C, 1, 1), over all pixels of the sample."""
        total = total_sq = count = 0
        for images, _ in self._loader(sample, shuffle_seed=None):  # (B, C, H, W)
            total = total + images.double().sum((0, 2, 3))
            total_sq = total_sq + images.double().square().sum((0, 2, 3))
            count += images.numel() // images.shape[1]
        mean = total / count
        std = (total_sq / count - mean.square()).clamp_min(0).sqrt().clamp_min(1e-3)  # blank images: no 0/0
        return mean.float().view(-1, 1, 1), std.float().view(-1, 1, 1)

    def _loader(self, dataset: Dataset, shuffle_seed: int | None) -> DataLoader:
        # the order is a function of (seed, epoch), so a resumed run sees the batches the
        # uninterrupted one saw (a seeded DataLoader generator restarts from epoch 0's order)
        sampler = None if shuffle_seed is None else EpochShuffle(len(dataset), shuffle_seed)
        return DataLoader(dataset, self.batch_size, sampler=sampler, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0, pin_memory=self.pin_memory)

    def weights_loader(self) -> DataLoader:
        """The train split alone, shuffled per epoch: what trains a subnet's weights in the final check."""
        return self._loader(self.train_set, shuffle_seed=self.seed)

    def train_dataloader(self) -> DataLoader | CombinedLoader:
        train = self._loader(self.train_set, shuffle_seed=self.seed)
        if self.arch_set is None:
            return train
        # Each batch is {"train": (x, y), "arch": (x, y)}; the smaller arch split cycles.
        arch = self._loader(self.arch_set, shuffle_seed=self.seed + 1)
        return CombinedLoader({"train": train, "arch": arch}, mode="max_size_cycle")

    def val_dataloader(self) -> DataLoader:
        # During a search the arch split is held out from the weights: monitor on it, not on test.
        return self._loader(self.test_set if self.arch_set is None else self.arch_set, shuffle_seed=None)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, shuffle_seed=None)


class DigitsDataModule(ImageDataModule):
    """scikit-learn's 8×8 handwritten digits (1,797 gray images, values 0..16): no download."""

    @property
    def num_classes(self) -> int:
        return 10

    def _load(self) -> tuple[Dataset, None]:
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = torch.from_numpy(digits.images).to(torch.uint8)[:, None]  # (1797, 1, 8, 8)
        labels = torch.from_numpy(digits.target).long()
        return _InMemory(images, labels, 16, self.resolution, self.channels), None


class _BatchUnpickler(pickle.Unpickler):
    """Reads a CIFAR batch (a dict of a uint8 array and a list of ints) and refuses every other
    global, so a tampered folder copied from elsewhere cannot run code as plain pickle.load would."""

    _allowed = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype")}  # numpy.core: written before numpy 2

    def find_class(self, module: str, name: str):
        if (module, name) not in self._allowed:
            raise pickle.UnpicklingError(f"unexpected {module}.{name}")
        return super().find_class(module, name)


class Cifar10DataModule(ImageDataModule):
    """CIFAR-10 from a local `ROOT/cifar-10-batches-py` folder (the python version as the
    CIFAR authors distribute it: pickled batches data_batch_1..5 and test_batch, each a dict
    {"data": uint8 (N, 3072) as R, G, B planes of 32×32, "labels": [int]}).

    The official test batch is the test split. We read the batches ourselves rather than through
    torchvision's CIFAR10: it checks each file's md5, so only the full download passes, and its
    plain pickle.load would run whatever a tampered file asks for."""

    _files = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")

    def __init__(self, root: str, resolution: int = 16, channels: int = 1, batch_size: int = 64,
                 arch_fraction: float = 0.0, seed: int = 0, augment: str = "none", num_workers: int | None = None,
                 pin_memory: bool | None = None):
        super().__init__(resolution, channels, batch_size, arch_fraction, seed=seed, augment=augment,
                         num_workers=num_workers, pin_memory=pin_memory)
        self.root = root

    @property
    def num_classes(self) -> int:
        return 10

    def _load(self) -> tuple[Dataset, Dataset]:
        folder = Path(self.root) / "cifar-10-batches-py"
        missing = [name for name in self._files if not (folder / name).is_file()]
        if missing:
            raise DataError(f"no CIFAR-10 at {folder} (missing {', '.join(missing)}): on a machine with network, "
                            f"download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html, "
                            f"extract it and copy the cifar-10-batches-py folder into {self.root}")
        train = self._read([folder / name for name in self._files[:5]])
        return train, self._read([folder / "test_batch"])

    def _read(self, paths: list[Path]) -> _InMemory:
        images, labels = [], []
        for path in paths:
            try:
                with open(path, "rb") as file:  # latin1: the files were pickled by Python 2
                    batch = _BatchUnpickler(file, encoding="latin1").load()
                images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
                batch_labels = [int(label) for label in batch["labels"]]
            except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
                raise DataError(f"{path}: not a CIFAR-10 python batch ({type(error).__name__}: {error}): "
                                f"copy the folder again from the original download") from None
            # checked here, not at the loss: a label ≥ 10 failed mid-training, a count mismatch shifted every label
            wrong = next((label for label in batch_labels if not 0 <= label < self.num_classes), None)
            if wrong is not None or len(batch_labels) != len(images[-1]):
                what = f"label {wrong} is not a class 0-9" if wrong is not None else \
                    f"{len(batch_labels)} labels for {len(images[-1])} images"
                raise DataError(f"{path}: {what}: copy the folder again from the original download")
            labels.extend(batch_labels)
        return _InMemory(torch.from_numpy(np.concatenate(images)), torch.tensor(labels), 255,
                         self.resolution, self.channels)


def _read_image(path: str):
    """The image file at `path` as an RGB PIL image (as torchvision's loader reads it); a file PIL
    cannot read is named, where PIL's own error says neither which file nor what to do."""
    from PIL import Image

    try:
        with open(path, "rb") as file:
            return Image.open(file).convert("RGB")  # convert loads the pixels: a truncated file fails here
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:  # UnidentifiedImageError: an OSError
        raise DataError(f"{path}: not a readable image ({type(error).__name__}: {error}): "
                        f"remove or replace the file") from None


def _split_folders(root: Path) -> tuple[Path, Path | None]:
    """(folder of the images to shuffle, folder of the official test split or None): the one
    place an image folder's layout is decided.

    ROOT/train + ROOT/test → (train, test); ROOT/train + ROOT/val → (train, val), val/ being what
    the user evaluates on once after retraining; no ROOT/train → (ROOT, None), split at random.
    """
    train = root / "train"
    if not train.is_dir():
        return root, None
    tests = [root / name for name in ("test", "val") if (root / name).is_dir()]
    if not tests:
        raise DataError(f"{train} has no test split beside it: add {root}/test/<class>/… (or val/), "
                        f"or move the class folders up into {root} to split them at random")
    if len(tests) == 2:
        raise DataError(f"{root} has both test/ and val/, so the test split is ambiguous: to test on test/ "
                        f"remove or rename {root}/val, to test on val/ remove or rename {root}/test")
    return train, tests[0]


class ImageFolderDataModule(ImageDataModule):
    """Images in class folders (torchvision's ImageFolder; classes sorted by folder name), read
    from disk lazily one item at a time, in one of three layouts:

    - `ROOT/train/<class>/<image>` and `ROOT/test/<class>/<image>`: test/ is the test split;
    - `ROOT/train/<class>/<image>` and `ROOT/val/<class>/<image>`: val/ is the test split;
    - `ROOT/<class>/<image>`: test_fraction of the images, drawn at random, is the test split.

    In the first two, train/ and the test folder need the same class folders, only train/ is
    shuffled into arch and train, and test_fraction is unused (as with CIFAR-10's test batch).
    """

    reads_from_disk = True

    def __init__(self, root: str, resolution: int = 16, channels: int = 1, batch_size: int = 64,
                 arch_fraction: float = 0.0, test_fraction: float = 0.2, seed: int = 0, augment: str = "none",
                 num_workers: int | None = None, pin_memory: bool | None = None):
        super().__init__(resolution, channels, batch_size, arch_fraction, test_fraction, seed, augment, num_workers,
                         pin_memory)
        self.root = root

    @cached_property
    def _folders(self) -> tuple[ImageFolder, ImageFolder | None]:
        """(images to split, the test folder's images or None), read once: num_classes needs them too."""
        pool_folder, test_folder = _split_folders(Path(self.root))
        pool = self._read(pool_folder)
        if test_folder is None:
            return pool, None
        test = self._read(test_folder)
        if test.classes != pool.classes:  # the labels are indices into the sorted class names
            only_pool = ", ".join(sorted(set(pool.classes) - set(test.classes))) or "none"
            only_test = ", ".join(sorted(set(test.classes) - set(pool.classes))) or "none"
            raise DataError(f"{test_folder} and {pool_folder} have different class folders (only in "
                            f"{pool_folder.name}/: {only_pool}; only in {test_folder.name}/: {only_test}): "
                            f"give both the same class folders")
        return pool, test

    def _read(self, folder: Path) -> ImageFolder:
        from torchvision import transforms

        transform = transforms.Compose([  # PIL resizes bilinearly with antialias; _fit then sets channels
            transforms.Resize((self.resolution, self.resolution)),
            transforms.ToTensor(),
            partial(_fit, resolution=self.resolution, channels=self.channels),
        ])
        try:
            return read_image_folder(folder, transform, _read_image)  # hidden folders skipped, no repeating links
        except FileNotFoundError as error:  # no folder, no class subfolders, or a class without images
            raise DataError(f"no images at {folder}: expected one subfolder per class, "
                            f"e.g. {folder}/cat/001.png ({error})") from None

    @property
    def num_classes(self) -> int:
        return len(self._folders[0].classes)

    def _load(self) -> tuple[Dataset, Dataset | None]:
        return self._folders


# The data modules a run folder's config may name (data/of_run.py): hwnas's own, by the class paths
# recipes and LightningCLI's saved configs give them.
DATA_MODULES: dict[str, type[ImageDataModule]] = {
    f"hwnas.data.{module.__name__}": module for module in (DigitsDataModule, Cifar10DataModule, ImageFolderDataModule)}
