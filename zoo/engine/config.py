"""Reading configs and checkpoints into a resolved mmengine Config, with errors a user can act on."""
from __future__ import annotations

from pathlib import Path

from zoo.registry import ZooError


class ConfigError(ZooError):
    """A config file is missing, malformed, or names keys no component accepts."""


def _parse_options(options: list[str] | None) -> dict:
    """``key=value`` pairs as mmengine's DictAction parses them (lists, tuples, numbers, booleans)."""
    if not options:
        return {}
    from mmengine.config import DictAction

    parsed: dict = {}
    for item in options:
        if "=" not in item:
            raise ConfigError(f"--cfg-options takes key=value pairs, got {item!r}")
        key, value = item.split("=", 1)
        parsed[key] = DictAction._parse_iterable(value)
    return parsed


def load_config(path, cfg_options: list[str] | None = None):
    """Load a config file (or the config inside a checkpoint) and apply ``key=value`` overrides."""
    from mmengine.config import Config

    from zoo.model_zoo.resolve import CHECKPOINT_SUFFIXES, resolve_if_name

    path = Path(resolve_if_name(path))
    if path.suffix in CHECKPOINT_SUFFIXES:
        from zoo.inference.backends import ModelFileError, checkpoint_config, checkpoint_meta

        from .safe_checkpoint import safe_load

        try:
            cfg = checkpoint_config(checkpoint_meta(safe_load(path), path), path)
        except ModelFileError as exc:
            raise ConfigError(f"{exc}; pass its config file too") from None
    else:
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            cfg = Config.fromfile(str(path))
        except Exception as exc:  # a config is a Python file: running it can raise anything (NameError...)
            raise ConfigError(f"cannot read config {path}: {type(exc).__name__}: {exc}") from None
    overrides = _parse_options(cfg_options)
    if overrides:
        cfg.merge_from_dict(overrides)
    return cfg
