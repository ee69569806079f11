"""Tiny datasets written by the tests themselves (a user's clone has no datasets): CIFAR-10's
python batches and image folders, in the layouts users bring."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def write_fake_cifar(root: Path, per_batch: int = 20) -> None:
    """The python version's layout: root/cifar-10-batches-py/data_batch_1..5 and test_batch, each a
    pickled dict {"data": uint8 (per_batch, 3072), "labels": [int]}."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 "labels": rng.integers(0, 10, per_batch).tolist()}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))


def write_image_folder(root: Path, classes: Sequence[str] = ("cat", "dog", "fox"), per_class: int = 5) -> None:
    """root/<class>/<i>.png: random RGB images of 10×14 pixels (not square: the resize makes them so)."""
    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(rng.integers(0, 256, (10, 14, 3), dtype=np.uint8)).save(root / name / f"{i}.png")
