"""The config a checkpoint carries, as plain data that is rebuilt without running or importing anything.

A checkpoint is a file people download and share, so reading it must not be able to do more than
``torch.load(weights_only=True)`` does. Storing the config as Python text (``cfg.pretty_text``) undid that:
``Config.fromstring`` executes the text, ``custom_imports`` and ``_scope_`` import modules, and mmengine's
registry imports any dotted (or unknown) ``type`` by name. So the config is stored as nested dicts, lists,
tuples and scalars, and :func:`config_from_data` accepts it only when every ``type`` is a name some registry
already holds (core components, installed plugins, mmengine's own loops, optimizers and hooks) and no key
asks for an import. The same check runs when a checkpoint is written, so a config that a checkpoint could
not carry fails at the start of training, not when its result is opened.

Checkpoints written before this (their config is a string) are refused with the way out:
``zoo checkpoint upgrade`` converts one, once, for a user who trusts where it came from.
"""
from __future__ import annotations

import re

from zoo.registry import ZooError

#: ``zoo_meta['format']``: 1 stored the config as Python text, 2 as plain data
FORMAT = 2

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: keys that make mmengine import modules or read other files while a config is read or built
_IMPORTING_KEYS = ("custom_imports", "_base_")
_SCALARS = (str, int, float, bool, type(None))
#: mmengine's modules that register the components a training config names (loops, hooks, optimizers, ...)
_MMENGINE_PARTS = ("mmengine.dataset", "mmengine.evaluator", "mmengine.hooks", "mmengine.model", "mmengine.optim",
                   "mmengine.runner", "mmengine.visualization")


class StoredConfigError(ZooError):
    """A checkpoint's config is not plain data made of registered components; nothing was built from it."""

    def __init__(self, message: str, what: str | None = None):
        super().__init__(message)
        self.what = what or message


class LegacyCheckpointError(StoredConfigError):
    """A checkpoint from an older zoo stores its config as Python text, which only running it could read."""


def config_to_data(cfg) -> dict:
    """``cfg`` as nested plain data, checked as a checkpoint's reader will check it."""
    data = _plain(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg), "config")
    try:
        check_config_data(data, "this config")
    except StoredConfigError as exc:
        raise StoredConfigError(f"a checkpoint could not carry this config: {exc.what}") from None
    return data


def _plain(value, where: str):
    """A deep copy of ``value`` made of dicts with string keys, lists, tuples and scalars only."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoredConfigError(f"{where} has a non-string key {key!r}; a checkpoint stores configs as "
                                        f"plain data")
            out[key] = _plain(item, f"{where}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item, f"{where}[{i}]") for i, item in enumerate(value))
    raise StoredConfigError(f"{where} is a {type(value).__name__}; a checkpoint stores configs as plain data "
                            f"(numbers, strings, lists, dicts, and components named by their registered type)")


def registered_names() -> set[str]:
    """Every name a registry reachable from the zoo holds: the zoo's kinds (with installed plugins) and
    mmengine's own registries with their ``zoo`` children."""
    import importlib

    import mmengine.registry as mm
    from mmengine.registry import Registry

    from zoo.registry import load_plugins
    from zoo.registry import registries as zoo_registries

    load_plugins()
    for part in _MMENGINE_PARTS:  # the Runner imports these anyway; their modules register what configs name
        importlib.import_module(part)
    roots = [obj for module in (mm, zoo_registries) for obj in vars(module).values() if isinstance(obj, Registry)]
    names: set[str] = set()
    seen: set[int] = set()
    while roots:
        registry = roots.pop()
        if id(registry) in seen:
            continue
        seen.add(id(registry))
        registry.import_from_location()
        names.update(registry._module_dict)
        roots.extend(registry._children.values())
    return names


def check_config_data(data, source: str, names: set[str] | None = None) -> None:
    """Refuse, naming the key, anything in ``data`` that would import a module or build an unregistered type."""
    if not isinstance(data, dict):
        raise _refuse(source, f"it is a {type(data).__name__}, not a dict")
    names = registered_names() if names is None else names
    scope = data.get("default_scope")
    if scope not in (None, "zoo"):
        raise _refuse(source, f"default_scope={scope!r}; only the zoo's scope is allowed (another scope imports "
                              f"that package's modules)")
    _check(data, "config", source, names)


def _refuse(source: str, what: str) -> StoredConfigError:
    return StoredConfigError(f"{source}: refused its stored config, nothing was built or imported: {what}", what)


def _check(value, where: str, source: str, names: set[str]) -> None:
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", source, names)
        return
    if not isinstance(value, dict):
        if not isinstance(value, _SCALARS):
            raise _refuse(source, f"{where} is a {type(value).__name__}, not plain data")
        return
    for key, item in value.items():
        if not isinstance(key, str):
            raise _refuse(source, f"{where} has a non-string key {key!r}")
        if key in _IMPORTING_KEYS:
            raise _refuse(source, f"{where}.{key} is not allowed (it makes mmengine import modules or read other "
                                  f"files)")
        if key == "_scope_" and item != "zoo":
            raise _refuse(source, f"{where}._scope_={item!r}; only the zoo's scope is allowed (another scope "
                                  f"imports that package's modules)")
        if key == "type":
            _check_type(item, f"{where}.type", source, names)
        _check(item, f"{where}.{key}", source, names)


def _check_type(name, where: str, source: str, names: set[str]) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise _refuse(source, f"{where}={name!r} is not a component name (a stored config names registered "
                              f"components, never import paths)")
    if name not in names:
        from zoo.registry._errors import suggest

        hints = suggest(name, sorted(names))
        hint = f"did you mean {' or '.join(repr(h) for h in hints)}? " if hints else ""
        raise _refuse(source, f"{where}={name!r} is not registered here; {hint}if a plugin provides it, install "
                              f"it (`zoo list` shows what is registered)")


def config_from_data(data, source: str):
    """An mmengine ``Config`` rebuilt from stored plain data, after :func:`check_config_data`; no code runs."""
    from mmengine.config import Config

    if isinstance(data, str):
        raise LegacyCheckpointError(
            f"{source} was saved by an older zoo, which stored its config as Python text that only running it "
            f"could read; it was not loaded. If you trust where the file came from, convert it once with "
            f"`zoo checkpoint upgrade {source}`")
    check_config_data(data, source)
    return Config(_plain(data, "config"))


def without_config_text(meta) -> dict:
    """mmengine's checkpoint ``meta`` without the config as Python text: ``cfg``, which its Runner writes, and
    ``config``, which its resume executes with ``Config.fromstring`` to count GPUs. The zoo keeps the config as
    checked plain data in ``zoo_meta``, so neither is needed, and a file's text must never be executed."""
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if k not in ("cfg", "config")}
