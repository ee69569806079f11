"""A run's data module, rebuilt from the config LightningCLI saved in RUN/logs/config.yaml: what
`hwnas select` scores subnets on and `hwnas export --int8` calibrates with.

A run folder may come from someone else, and its config names a class to build. Nothing is
imported by that name unless it is one of hwnas's own data modules (`DATA_MODULES`) or the user
says they trust the folder (`trusted`, the commands' --trust-data-module): importing a module runs
its code, and with `python -m hwnas` the current folder, perhaps the received one, is on the path.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from hwnas.data.modules import DATA_MODULES, ImageDataModule
from hwnas.errors import HwnasError
from hwnas.net.space import SearchSpace
from hwnas.files.strict import read_yaml

TRUST_OPTION = "--trust-data-module"


def data_class_of(class_path: str, config_path: Path, trusted: bool) -> type[ImageDataModule]:
    """The class named `class_path`: looked up in DATA_MODULES, imported only when `trusted`."""
    if class_path in DATA_MODULES:
        return DATA_MODULES[class_path]
    if not trusted:
        raise HwnasError(f"{config_path}: data.class_path {class_path!r} is not one of hwnas's data modules "
                         f"({', '.join(DATA_MODULES)}): importing it would run its code; if you trust this run "
                         f"folder and that module, pass {TRUST_OPTION}")
    module_name, _, class_name = class_path.rpartition(".")
    try:
        data_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError):
        data_class = None
    if not (isinstance(data_class, type) and issubclass(data_class, ImageDataModule)):
        raise HwnasError(f"{config_path}: data.class_path {class_path!r} is not an hwnas data module")
    return data_class


def datamodule_of_run(config_path: Path, space: SearchSpace, missing: str, trusted: bool = False,
                      **overrides) -> ImageDataModule:
    """The run's data module (not set up), its input shape from `space` as the run linked it, with
    `overrides` of its init_args (e.g. augment="none"); `missing`: what to do when there is no config."""
    config = read_yaml(config_path, missing=f"no such config: {missing}", redo=missing)
    data = (config.get("data") if isinstance(config, dict) else None) or {}
    if not isinstance(data, dict):
        raise HwnasError(f"{config_path}: its data: is not a mapping: {missing}")
    data_class = data_class_of(str(data.get("class_path", "")), config_path, trusted)
    init_args = data.get("init_args") or {}
    accepted = inspect.signature(data_class.__init__).parameters
    unknown = [name for name in (init_args if isinstance(init_args, dict) else ["(not a mapping)"])
               if name not in accepted]
    if unknown:
        raise HwnasError(f"{config_path}: data.init_args {unknown[0]!r} is not an argument of {data_class.__name__}: "
                         f"{missing}")
    return data_class(**{**init_args, "resolution": space.resolution, "channels": space.in_channels, **overrides})
