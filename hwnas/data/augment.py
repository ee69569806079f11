"""Train-split augmentation, named in a recipe as `data.init_args.augment`.

    none               digits and MNIST-like data: a flipped 2 or 7 is another glyph
    crop_flip          CIFAR-style: pad by 1/8 of the side (4 px at 32), take a random crop of
                       the input size, flip left-right with p = 0.5
    resized_crop_flip  ImageNet-style: a random crop of 8-100% of the area at aspect 3/4-4/3,
                       resized to the input, flipped with p = 0.5. It crops the image already
                       fitted to the input, so a small crop is upsampled from fewer pixels than
                       the usual crop of the full-size photo would be.

It acts on the image already fitted to the space's input (C, resolution, resolution) in [0, 1],
before normalisation, and only on the split the weights train on: the arch and test splits
see the images as they are. Its randomness is torch's (seeded per DataLoader worker from the
run's seed), so a run repeats; a resumed run draws other crops than the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from hwnas.errors import HwnasError

AUGMENTATIONS = ("none", "crop_flip", "resized_crop_flip")


def train_augmentation(name: str, resolution: int) -> Callable[[Tensor], Tensor] | None:
    """The augmentation called `name` for square inputs of side `resolution`; None for "none"."""
    if name not in AUGMENTATIONS:
        raise HwnasError(f"unknown augment {name!r}: use one of {', '.join(AUGMENTATIONS)}")
    if name == "none":
        return None
    from torchvision.transforms import v2

    if name == "crop_flip":
        crop = v2.RandomCrop(resolution, padding=max(1, resolution // 8))
    else:
        crop = v2.RandomResizedCrop(resolution, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), antialias=True)
    return v2.Compose([crop, v2.RandomHorizontalFlip()])
