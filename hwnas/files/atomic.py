"""Atomic file writes: a reader sees the old file or the complete new one, never half of one."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hwnas.errors import HwnasError


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix, for tools that check it); rename it
    onto `path` only if the block succeeds, otherwise remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


@contextmanager
def atomic_folder(path: str | Path, replaces_only: str) -> Iterator[Path]:
    """Yield a fresh folder beside `path` to fill; when the block succeeds it takes the place of
    `path` (an old folder there is removed after the swap), otherwise it is removed and `path` is
    left as it was. A reader finds the old folder or the complete new one, never a mix; only if the
    process dies between the two renames is there no folder at `path`, and the old one is beside it.

    Only a folder this stage wrote before is replaced: one holding the file `replaces_only` (e.g.
    model_card.json), or an empty one; anything else at `path` is refused (check_replaceable). A link
    to a folder is followed: the folder it names is replaced, the link stays."""
    path = check_replaceable(path, replaces_only)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700
        if path.exists():
            replaced = path.with_name(f"{staging.name}.replaced")
            os.replace(path, replaced)
            os.replace(staging, path)
            shutil.rmtree(replaced)
        else:
            os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def check_replaceable(path: str | Path, marker: str) -> Path:
    """The folder atomic_folder will replace (a link followed), or one line when `path` holds something
    this stage did not write: a file, or a folder with other contents than an earlier output."""
    path = Path(path)
    path = path.resolve() if path.is_symlink() else path
    if path.exists() and not path.is_dir():
        raise HwnasError(f"{path} is a file: name a folder to write into")
    if path.is_dir() and any(path.iterdir()) and not (path / marker).is_file():
        raise HwnasError(f"{path} holds files that are not an earlier output of this command (no {marker}): "
                         f"name a new or empty folder")
    return path


def check_writable(path: str | Path, folder: bool = False) -> None:
    """Raise a one-line HwnasError, before any work, when an output file (or, with `folder`, an
    output folder) cannot be written at `path`: a folder where a file goes, a file where a folder
    goes, a file in the way of its parent folder, or a parent folder this user cannot write."""
    path = Path(path)
    if path.is_dir() and not folder:
        raise HwnasError(f"{path} is a folder: name the file to write")
    if path.exists() and folder and not path.is_dir():
        raise HwnasError(f"{path} is a file: name a folder to write into")
    parent = path.parent
    while not parent.exists():  # the nearest existing folder is where the new ones would be made
        parent = parent.parent
    if not parent.is_dir():
        raise HwnasError(f"{parent} is a file, so {path} cannot be written: choose another location")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)) \
            or not _can_create_in(parent):
        raise HwnasError(f"{path} cannot be written here (permission denied): choose a location you can write to")


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be made in `folder`, by making one: permission bits do not tell for root,
    nor for read-only mounts and file systems such as /sys."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | Path, data: dict) -> None:
    with atomic_output(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2) + "\n")


def save_figure(figure, path: str | Path, dpi: int = 100) -> None:
    """Write a matplotlib Figure as PNG, atomically (dpi 100: the search's figures, ~0.1 s each)."""
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")
