"""A run's data module, rebuilt from the config LightningCLI saved in RUN/logs/config.yaml: what
`hwnas select` scores subnets on and `hwnas export --int8` calibrates with."""

from __future__ import annotations

import importlib
from pathlib import Path

from hwnas.data import ImageDataModule
from hwnas.errors import HwnasError
from hwnas.net.space import SearchSpace
from hwnas.strict_files import read_yaml


def datamodule_of_run(config_path: Path, space: SearchSpace, missing: str, **overrides) -> ImageDataModule:
    """The run's data module (not set up), its input shape from `space` as the run linked it, with
    `overrides` of its init_args (e.g. augment="none"); `missing`: what to do when there is no config."""
    config = read_yaml(config_path, missing=f"no such config: {missing}", redo=missing)
    data = (config.get("data") if isinstance(config, dict) else None) or {}
    if not isinstance(data, dict):
        raise HwnasError(f"{config_path}: its data: is not a mapping: {missing}")
    module_name, _, class_name = str(data.get("class_path", "")).rpartition(".")
    try:
        data_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        data_class = None
    if not (isinstance(data_class, type) and issubclass(data_class, ImageDataModule)):
        raise HwnasError(f"{config_path}: data.class_path {data.get('class_path')!r} is not an hwnas data module")
    return data_class(**{**(data.get("init_args") or {}), "resolution": space.resolution,
                         "channels": space.in_channels, **overrides})
