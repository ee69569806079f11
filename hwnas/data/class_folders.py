"""An image folder's classes and files, read so that every image is counted once, under its own class.

torchvision's ImageFolder takes every subfolder as a class and follows links while it walks them:

- a hidden folder (`.ipynb_checkpoints`, `.cache`) became a class of its own, and the class count
  that then disagreed with the space named no folder;
- a link to a folder inside a class folder (e.g. to its parent) repeated the images under it,
  under the wrong label, without a word; a class folder that links to the folder above it took
  every image of every class.

Here hidden folders and files are skipped, a link to a folder inside a class folder is refused,
and so is a class folder that holds the folder or another class (a link to an ancestor). Links
to image files, and class folders that link to folders elsewhere, are read as usual.
"""

from __future__ import annotations

import os
from pathlib import Path

from hwnas.errors import HwnasError


class FolderError(HwnasError):
    """An image folder that cannot be read as classes; the message says what to fix."""


def visible_class_folders(folder: Path) -> list[str]:
    """The class names: the folder's subfolders whose names do not start with a dot, sorted."""
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))


def check_no_nesting(folder: Path, classes: list[str]) -> None:
    """Refuse a class folder (a link, most likely) that holds `folder` itself or another class."""
    real = {name: os.path.realpath(folder / name) for name in classes}
    inside = [os.path.realpath(folder)] + list(real.values())
    for name, path in real.items():
        for other in inside:
            if other != path and (other + os.sep).startswith(path + os.sep):
                raise FolderError(f"{folder / name} holds {other} (a link to a folder above it?): its images would "
                                  f"be counted again under class {name!r}; remove the link")


def class_files(folder: Path, name: str, accepted) -> list[str]:
    """The image files under `folder/name` (sorted, hidden ones skipped), for `accepted(path)` files;
    a link to a folder under it is refused."""
    files = []
    for current, subfolders, names in os.walk(folder / name):  # links to folders are listed, not followed
        linked = [s for s in subfolders if os.path.islink(os.path.join(current, s))]
        if linked:
            raise FolderError(f"{os.path.join(current, linked[0])} is a link to a folder: its images would be "
                              f"counted again, under class {name!r}; remove the link or copy the images in")
        subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        files += [os.path.join(current, f) for f in sorted(names) if not f.startswith(".")
                  and accepted(os.path.join(current, f))]
    return files


def read_image_folder(folder: Path, transform, loader):
    """torchvision's ImageFolder over `folder`, with its classes and files found as the module docstring says."""
    from torchvision.datasets import ImageFolder
    from torchvision.datasets.folder import IMG_EXTENSIONS, has_file_allowed_extension

    class ClassFolders(ImageFolder):
        def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
            classes = visible_class_folders(Path(directory))
            if not classes:
                raise FileNotFoundError(f"no class folder in {directory}")
            check_no_nesting(Path(directory), classes)
            return classes, {name: index for index, name in enumerate(classes)}

        @staticmethod
        def make_dataset(directory: str, class_to_idx: dict[str, int], extensions=None, is_valid_file=None,
                         allow_empty: bool = False) -> list[tuple[str, int]]:
            samples = []
            for name, index in class_to_idx.items():
                files = class_files(Path(directory), name,
                                    lambda path: has_file_allowed_extension(path, IMG_EXTENSIONS))
                if not files:
                    raise FileNotFoundError(f"no image file in class folder {name!r}")
                samples += [(path, index) for path in files]
            return samples

    return ClassFolders(str(folder), transform=transform, loader=loader)
