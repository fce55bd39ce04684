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


def _model_file_meta(path) -> dict:
    """What a model file's config is read from: a weights file's header alone (its tensors are read later, only
    those its model has), or a checkpoint."""
    from zoo.modelfile import META_KEY, is_weights_file, read_meta, safe_load

    return {META_KEY: read_meta(path)} if is_weights_file(path) else safe_load(path)


#: keys that make mmengine import modules or read other files when a config is read or built
_IMPORTING_KEYS = ("custom_imports", "_base_")
#: keys whose value is a registry scope: any other than the zoo's makes mmengine import that package's modules
_SCOPE_KEYS = ("_scope_", "default_scope")


def check_overrides(options: list[str] | None) -> dict:
    """``--cfg-options`` parsed, each refused (naming it) when it could make mmengine import a module.

    The rule a model file's stored config is held to: every ``type`` an override sets is an undotted name
    some registry already holds, and no override sets ``custom_imports``, ``_base_``, or a scope other than
    ``zoo``. ``zoo train`` checked its whole config only after building its datasets from it, and ``zoo test``
    never did, so ``custom_hooks.0.type=os.system`` ran. Checked here, before the config is even read, it
    holds for both and for every other caller of :func:`load_config`. (A config file is Python the user runs
    by choice; an override may come from a script or a web form that passes text through.)
    """
    from zoo.registry import registered_names

    overrides = _parse_options(options)
    names: set[str] | None = None
    for key, value in overrides.items():
        parts = key.split(".")
        shown = f"--cfg-options {key}={value!r} refused, nothing was built or imported"
        for part in parts:
            if part in _IMPORTING_KEYS:
                raise ConfigError(f"{shown}: {part} makes mmengine import modules or read other files")
        if parts[-1] in _SCOPE_KEYS and value != "zoo":
            raise ConfigError(f"{shown}: only the zoo's scope is allowed (another scope imports that "
                              f"package's modules)")
        if parts[-1] != "type":
            continue
        if not isinstance(value, str) or not value.isidentifier():
            raise ConfigError(f"{shown}: a type is the name of a registered component, never an import path")
        names = registered_names() if names is None else names
        if value not in names:
            from zoo.registry._errors import suggest

            hints = suggest(value, sorted(names))
            hint = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
            raise ConfigError(f"{shown}: {value!r} is not registered{hint} (`zoo list` shows what is)")
    return overrides


def load_config(path, cfg_options: list[str] | None = None):
    """Load a config file (or the config inside a checkpoint) and apply ``key=value`` overrides, each checked
    by :func:`check_overrides` before the file is even read."""
    from mmengine.config import Config

    from zoo.model_zoo.resolve import CHECKPOINT_SUFFIXES, resolve_if_name

    overrides = check_overrides(cfg_options)
    path = Path(resolve_if_name(path))
    if path.suffix in CHECKPOINT_SUFFIXES:
        from zoo.modelfile import ModelFileError, checkpoint_config, checkpoint_meta

        from .run_defaults import complete_model_file_config

        try:
            cfg = checkpoint_config(checkpoint_meta(_model_file_meta(path), path), path)
        except ModelFileError as exc:
            raise ConfigError(f"{exc}; pass its config file too") from None
        complete_model_file_config(cfg)
    else:
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            cfg = Config.fromfile(str(path))
        except Exception as exc:  # a config is a Python file: running it can raise anything (NameError...)
            raise ConfigError(f"cannot read config {path}: {type(exc).__name__}: {exc}") from None
    if overrides:
        cfg.merge_from_dict(overrides)
    return cfg
