"""fashion-7k with Fashion-MNIST's whole test split: the same 6,000 train images (or more), 10,000 test images.

    apt-get install dataset-fashion-mnist        # Debian's package: the original IDX files
    .venv/bin/python benchmarks/fashion_full_test.py --fashion-7k ../shared/data/fashion-7k \
        [--idx /usr/share/datasets/fashion-mnist] [--train-per-class N] [--out FOLDER]

A retrain's test accuracy on 1,000 images moves with which images were drawn as well as with the weights:
two seeds of one arch get different images wrong, and on a small split that alone parts their accuracies
(its sd falls as 1/√images: about √10 times less on 10,000), where on the whole distribution they may be
level. The train split is copied file for file, so a retrain with the same seed trains exactly as on
fashion-7k; only the test is larger. It holds fashion-7k's own 1,000 test images (checked pixel for pixel
here). The IDX files are checked against the sha256 that fashion-7k's MANIFEST.json records, so both come
from one source.

--train-per-class N writes the first N train images of each class in the original files' order instead of the
copy (600, fashion-7k's own selection, gives the same images; 6,000 is the whole train split): a larger train
split that holds fashion-7k's, checked pixel for pixel as the test images are, for asking whether archs part
when trained on more data. Its default folder is runs/data/fashion-<N/100>k-train-full-test.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def read_idx(path: Path, header_bytes: int) -> np.ndarray:
    return np.frombuffer(gzip.decompress(path.read_bytes()), dtype=np.uint8, offset=header_bytes)


def read_split(idx: Path, split: str, manifest: dict) -> tuple[np.ndarray, np.ndarray]:
    """(images [n, 28, 28], labels [n]) of one split's IDX files, checked against fashion-7k's hashes."""
    for name in SPLITS[split]:
        digest = hashlib.sha256((idx / name).read_bytes()).hexdigest()
        if digest != manifest["source_sha256"][name]:
            raise SystemExit(f"{idx / name}: sha256 {digest} is not the one fashion-7k was made from")
    images_file, labels_file = SPLITS[split]
    return read_idx(idx / images_file, 16).reshape(-1, 28, 28), read_idx(idx / labels_file, 8)


def check_holds(fashion_7k: Path, split: str, classes: list[str], images: np.ndarray, labels: np.ndarray,
                kept: set[int]) -> None:
    """Every fashion-7k image of the split is image <its name> of the IDX file, with its label, and is kept."""
    for label, folder in enumerate(classes):
        for png in (fashion_7k / split / folder).glob("*.png"):
            index = int(png.stem)
            if not (np.array_equal(np.asarray(Image.open(png)), images[index]) and labels[index] == label
                    and index in kept):
                raise SystemExit(f"{png} is not image {index} of the {split} split written here")


def first_per_class(labels: np.ndarray, per_class: int) -> list[int]:
    """Indices of the first per_class images of each class, in the files' order (fashion-7k's selection rule)."""
    chosen = [np.flatnonzero(labels == label)[:per_class] for label in range(int(labels.max()) + 1)]
    if min(len(c) for c in chosen) < per_class:
        raise SystemExit(f"--train-per-class {per_class}: a class has only {min(len(c) for c in chosen)} images")
    return sorted(int(i) for c in chosen for i in c)


def write_images(folder: Path, classes: list[str], images: np.ndarray, labels: np.ndarray,
                 indices: list[int]) -> None:
    for name in classes:
        (folder / name).mkdir(parents=True)
    for index in indices:  # named as fashion-7k names them: a folder's files are read in name order
        Image.fromarray(images[index]).save(folder / classes[labels[index]] / f"{index:05d}.png")


def build(fashion_7k: Path, idx: Path, out: Path, train_per_class: int | None = None) -> None:
    manifest = json.loads((fashion_7k / "MANIFEST.json").read_text())
    classes = sorted(p.name for p in (fashion_7k / "test").iterdir())  # "<label>_<name>": sorted, index = label
    test_images, test_labels = read_split(idx, "test", manifest)
    test_indices = list(range(len(test_labels)))
    check_holds(fashion_7k, "test", classes, test_images, test_labels, set(test_indices))
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    if train_per_class is None:
        shutil.copytree(fashion_7k / "train", partial / "train")
    else:
        train_images, train_labels = read_split(idx, "train", manifest)
        train_indices = first_per_class(train_labels, train_per_class)
        check_holds(fashion_7k, "train", classes, train_images, train_labels, set(train_indices))
        write_images(partial / "train", classes, train_images, train_labels, train_indices)
    write_images(partial / "test", classes, test_images, test_labels, test_indices)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    print(f"wrote {out}: {sum(1 for _ in (out / 'train').rglob('*.png'))} train, {len(test_indices)} test images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fashion-7k", type=Path, required=True)
    parser.add_argument("--idx", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-per-class", type=int, help="write the first N train images of each class "
                        "(default: copy fashion-7k's 600)")
    parser.add_argument("--out", type=Path, help="default: runs/data/fashion-7k-full-test, or with "
                        "--train-per-class N runs/data/fashion-<N/100>k-train-full-test")
    args = parser.parse_args()
    if args.train_per_class is not None and args.train_per_class < 1:
        parser.error("--train-per-class must be at least 1")
    default = ("runs/data/fashion-7k-full-test" if args.train_per_class is None
               else f"runs/data/fashion-{args.train_per_class / 100:g}k-train-full-test")
    build(args.fashion_7k, args.idx, args.out or Path(default), args.train_per_class)


if __name__ == "__main__":
    main()
