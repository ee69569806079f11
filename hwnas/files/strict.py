"""The one reader of every JSON and YAML file hwnas loads: bounded, strict, and one line when a file is not.

    what            a regular file (not a pipe or a device: they may never end) of at most MAX_BYTES,
                    read no further than that: the largest file hwnas writes (a table) is ~200 kB
    depth           at most MAX_DEPTH levels of nesting (hwnas's deepest file has ~8); deeper input
                    ended in a RecursionError traceback inside the parser
    duplicate keys  refused: both parsers keep the last one without a word, so a space file that is
                    meant to be strict took the second `channels:` of a stage
    NaN, Infinity   refused in JSON: Python writes them, other JSON readers reject them, and no
                    latency, target or accuracy hwnas reads can be one (a kit's results are read
                    with them, to be refused by the check that names the model that measured NaN)

Each caller names its error class, what to say when the file is missing and how to make a good one
(`redo`), so the message stays the caller's: "{path}: not valid JSON (…): {redo}".
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from hwnas.errors import HwnasError

MAX_BYTES = 64 * 2**20
MAX_DEPTH = 64


class _StrictYamlLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):  # linear: a table of 100,000 entries loads in a second
        seen: set[str] = set()
        raise ValueError(f"duplicate key {next(key for key, _ in pairs if key in seen or seen.add(key))!r}")
    return found


def _parse_json(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)


def _parse_json_with_non_finite(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_unique_keys)


def _parse_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_StrictYamlLoader)  # a SafeLoader: plain data, no Python objects


def _depth(value: Any) -> int:
    """Levels of nesting, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _one_line(problem: Exception) -> str:
    """A parser's complaint in one line, with the line of the file it is about."""
    if isinstance(problem, yaml.MarkedYAMLError) and problem.problem_mark is not None:
        return f"{problem.problem} at line {problem.problem_mark.line + 1}"
    text = str(problem).strip()
    return text.splitlines()[0] if text else type(problem).__name__


def read_bounded(path: str | Path, kind: str, error: type[HwnasError], missing: str, redo: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, or one line: a FIFO would wait for a writer
    forever and /dev/zero never ends, so only regular files are opened, and the read stops past the
    bound whatever the file's size said (a file can grow while it is read)."""
    path = Path(path)
    try:
        status = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    if stat.S_ISDIR(status.st_mode):
        raise error(f"{path}: a folder, not a {kind} file: {redo}")
    if not stat.S_ISREG(status.st_mode):
        raise error(f"{path}: not a regular file (a pipe, a device or a socket): pass a {kind} file")
    too_big = f"{path}: more than any {kind} file hwnas reads ({MAX_BYTES // 2**20} MiB): {redo}"
    if status.st_size > MAX_BYTES:
        raise error(too_big)
    with open(path, "rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise error(too_big)
    return data


def _read(path: str | Path, parse: Callable[[str], Any], kind: str, error: type[HwnasError], missing: str,
          redo: str) -> Any:
    path = Path(path)
    try:
        text = read_bounded(path, kind, error, missing, redo).decode("utf-8")
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not valid {kind} ({problem}): {redo}") from None
    try:
        data = parse(text)
    except RecursionError:
        raise error(f"{path}: nested deeper than {MAX_DEPTH} levels: {redo}") from None
    except (ValueError, yaml.YAMLError) as problem:  # json.JSONDecodeError is a ValueError
        raise error(f"{path}: not valid {kind} ({_one_line(problem)}): {redo}") from None
    if _depth(data) > MAX_DEPTH:
        raise error(f"{path}: nested deeper than {MAX_DEPTH} levels: {redo}")
    return data


def read_json(path: str | Path, *, error: type[HwnasError] = HwnasError, missing: str = "no such file",
              redo: str = "write it again", non_finite_ok: bool = False) -> Any:
    return _read(path, _parse_json_with_non_finite if non_finite_ok else _parse_json, "JSON", error, missing, redo)


def read_yaml(path: str | Path, *, error: type[HwnasError] = HwnasError, missing: str = "no such file",
              redo: str = "write it again") -> Any:
    return _read(path, _parse_yaml, "YAML", error, missing, redo)


@contextmanager
def read_record(path: str | Path, format: str, versions: tuple[int, ...], what: str, missing: str,
                redo: str) -> Iterator[dict]:
    """`with read_record(…) as data:` a record's JSON, checked to be `format` in one of `versions` (a file
    without a "format" key is version 1: hwnas wrote its summaries so before they had one). Inside the
    block its fields are read; a missing or mistyped one (KeyError, TypeError, ValueError, AttributeError)
    becomes one line: "{path}: not an hwnas {what} (…): {redo}"."""
    data = read_json(path, missing=missing, redo=redo)
    try:
        if not isinstance(data, dict) or data.get("format", format) != format or data.get("version", 1) not in versions:
            raise ValueError(f"format {data.get('format')!r} version {data.get('version')!r}" if isinstance(data, dict)
                             else f"a {type(data).__name__}, not a mapping")
        yield data
    except HwnasError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise HwnasError(f"{path}: not an hwnas {what} ({type(error).__name__}: {error}): {redo}") from None
