"""fashion-7k with Fashion-MNIST's whole test split: the same 6,000 train images, 10,000 test images.

    apt-get install dataset-fashion-mnist        # Debian's package: the original IDX files
    .venv/bin/python benchmarks/fashion_full_test.py --fashion-7k ../shared/data/fashion-7k \
        [--idx /usr/share/datasets/fashion-mnist] [--out runs/data/fashion-7k-full-test]

A retrain's test accuracy on 1,000 images moves with which images were drawn as well as with the weights:
two seeds of one arch get different images wrong, and on a small split that alone parts their accuracies
(its sd falls as 1/√images: about √10 times less on 10,000), where on the whole distribution they may be
level. The train split is copied file for file, so a retrain with the same seed trains exactly as on
fashion-7k; only the test is larger. It holds fashion-7k's own 1,000 test images (checked pixel for pixel
here). The IDX files are checked against the sha256 that fashion-7k's MANIFEST.json records, so both come
from one source.
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

IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"


def read_idx(path: Path, header_bytes: int) -> np.ndarray:
    return np.frombuffer(gzip.decompress(path.read_bytes()), dtype=np.uint8, offset=header_bytes)


def build(fashion_7k: Path, idx: Path, out: Path) -> None:
    manifest = json.loads((fashion_7k / "MANIFEST.json").read_text())
    for name in (IMAGES, LABELS):
        digest = hashlib.sha256((idx / name).read_bytes()).hexdigest()
        if digest != manifest["source_sha256"][name]:
            raise SystemExit(f"{idx / name}: sha256 {digest} is not the one fashion-7k was made from")
    images = read_idx(idx / IMAGES, 16).reshape(-1, 28, 28)
    labels = read_idx(idx / LABELS, 8)
    classes = sorted(p.name for p in (fashion_7k / "test").iterdir())  # "<label>_<name>": sorted, index = label
    for label, folder in enumerate(classes):  # fashion-7k's test images are the ones of the same index here
        for png in (fashion_7k / "test" / folder).glob("*.png"):
            index = int(png.stem)
            if not (np.array_equal(np.asarray(Image.open(png)), images[index]) and labels[index] == label):
                raise SystemExit(f"{png} is not image {index} of {idx / IMAGES}")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(fashion_7k / "train", partial / "train")
    for folder in classes:
        (partial / "test" / folder).mkdir(parents=True)
    for index, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(partial / "test" / classes[label] / f"{index}.png")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    print(f"wrote {out}: {sum(1 for _ in (out / 'train').rglob('*.png'))} train, {len(images)} test images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fashion-7k", type=Path, required=True)
    parser.add_argument("--idx", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=Path("runs/data/fashion-7k-full-test"))
    args = parser.parse_args()
    build(args.fashion_7k, args.idx, args.out)


if __name__ == "__main__":
    main()
