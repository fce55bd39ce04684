"""The config a model file carries: an allow-list of plain data, rebuilt without running or importing anything.

A model file is something people download and share, so reading it must not be able to do more than
``torch.load(weights_only=True)`` does. Three rules make that so:

- **Plain data.** The config is nested dicts (identifier keys only), lists, tuples and scalars. It is never
  Python text, and nothing from it is ever turned back into code: a key holding a quote would otherwise be written
  unescaped into the config dumps mmengine makes (``pretty_text``), which the next Python start could import.
- **Registered components only.** Every ``type`` must be a name some registry already holds (core components,
  installed plugins, mmengine's loops and transforms); keys that make mmengine import (``custom_imports``,
  ``_base_``, another ``_scope_``) are refused.
- **Only what the model needs** (:data:`CARRIED`): the model, its transforms, the datasets it was trained and
  validated on (for ``zoo test``, ``zoo checkpoint calibrate``), and the ruler length. Everything that says where
  to write, what to run around the model or how many processes to start (visualizer, hooks, ``work_dir``,
  evaluators, loggers, environment, dataloader workers) belongs to the user's run, never to a file: the zoo's
  trusted defaults or the command line supply it. A file written before this rule (format 2 carried the whole run
  config) is read with those sections dropped, and the dropped sections are named in the ``zoo`` log.

Checkpoints whose config is a Python string (format 1) are refused with the way out: ``zoo checkpoint upgrade``.
"""
from __future__ import annotations

import keyword
import logging
import re

from .errors import LegacyCheckpointError, ModelFileError, StoredConfigError

#: ``zoo_meta['format']``: 1 stored the config as Python text, 2 as plain data (the whole run config), 3 as plain
#: data holding only the sections in :data:`CARRIED`, with every detector's parts spelled out in the config
FORMAT = 3

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: keys that make mmengine import modules or read other files while a config is read or built
_IMPORTING_KEYS = ("custom_imports", "_base_")
_SCALARS = (str, int, float, bool, type(None))
_DATALOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
#: the sections a model file carries, and nothing else
CARRIED = ("model", "train_pipeline", "val_pipeline", "test_pipeline", *_DATALOADERS, "ruler_mm", "default_scope",
           "landmark_set")
#: of a dataloader, only what says which images and how many at a time; workers, samplers and collation are the run's
_LOADER_KEYS = ("dataset", "batch_size")
MAX_BATCH_SIZE = 256


def config_to_data(cfg) -> dict:
    """The part of ``cfg`` a model file carries (:data:`CARRIED`), as nested plain data, checked as a reader
    will check it; a config no model file could carry fails here, at the start of training."""
    full = _plain(cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg), "config")
    data, _ = carried_sections(full)
    try:
        check_config_data(data, "this config")
    except StoredConfigError as exc:
        raise StoredConfigError(f"a checkpoint could not carry this config: {exc.what}") from None
    return data


def carried_sections(data: dict) -> tuple[dict, list[str]]:
    """``data`` cut down to what a model file may carry, and the names of what was cut (``train_dataloader.
    num_workers``...). The model's own weights come from the file, so a ``pretrained`` file or an ``init_cfg``
    checkpoint named anywhere in the model is cut too."""
    kept, dropped = {}, []
    for key, value in data.items():
        if key not in CARRIED:
            dropped.append(key)
        elif key in _DATALOADERS:
            if not isinstance(value, dict):
                dropped.append(key)
                continue
            kept[key] = {k: v for k, v in value.items() if k in _LOADER_KEYS}
            dropped.extend(f"{key}.{k}" for k in value if k not in _LOADER_KEYS)
        elif key == "model":
            kept[key] = _without_weight_files(value, "model", dropped)
        else:
            kept[key] = value
    return kept, dropped


def _without_weight_files(value, where: str, dropped: list):
    if isinstance(value, (list, tuple)):
        return type(value)(_without_weight_files(v, f"{where}[{i}]", dropped) for i, v in enumerate(value))
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key == "init_cfg":
            dropped.append(f"{where}.init_cfg")
            continue
        if key == "pretrained" and item not in (None, False):
            dropped.append(f"{where}.pretrained")
            out[key] = False
            continue
        out[key] = _without_weight_files(item, f"{where}.{key}", dropped)
    return out


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


def check_config_data(data, source: str, names: set[str] | None = None) -> None:
    """Refuse, naming the key, anything in ``data`` that would import a module, build an unregistered type, or be
    written back out as anything but the data it is."""
    if not isinstance(data, dict):
        raise _refuse(source, f"it is a {type(data).__name__}, not a dict")
    if names is None:
        from zoo.registry import registered_names

        names = registered_names()
    scope = data.get("default_scope")
    if scope not in (None, "zoo"):
        raise _refuse(source, f"default_scope={scope!r}; only the zoo's scope is allowed (another scope imports "
                              f"that package's modules)")
    for loader in _DATALOADERS:
        size = (data.get(loader) or {}).get("batch_size") if isinstance(data.get(loader), dict) else None
        if size is not None and not (isinstance(size, int) and not isinstance(size, bool)
                                     and 1 <= size <= MAX_BATCH_SIZE):
            raise _refuse(source, f"{loader}.batch_size={size!r}; a batch is 1 to {MAX_BATCH_SIZE} images")
    ruler = data.get("ruler_mm")
    if ruler is not None and (isinstance(ruler, bool) or not isinstance(ruler, (int, float))):
        raise _refuse(source, f"ruler_mm={ruler!r} is not a length")
    _check(data, "config", source, names)


def _refuse_imports(data: dict, source: str) -> None:
    """Refuse, anywhere in ``data``, the keys and dotted types that exist only to make mmengine import a module."""
    stack = [(data, "config")]
    while stack:
        value, where = stack.pop()
        if where.count(".") + where.count("[") > 64:
            raise _refuse(source, f"{where[:80]}... nests deeper than any config does")
        if isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if key in _IMPORTING_KEYS:
                    raise _refuse(source, f"{where}.{key} is not allowed (it makes mmengine import modules or read "
                                          f"other files)")
                if key in ("_scope_", "default_scope") and item not in (None, "zoo"):
                    raise _refuse(source, f"{where}.{key}={item!r}; only the zoo's scope is allowed (another scope "
                                          f"imports that package's modules)")
                if key == "type" and isinstance(item, str) and not _IDENTIFIER.fullmatch(item):
                    raise _refuse(source, f"{where}.type={item!r} is not a component name (a stored config names "
                                          f"registered components, never import paths)")
                stack.append((item, f"{where}.{key}"))


def _refuse(source: str, what: str) -> StoredConfigError:
    return StoredConfigError(f"{source}: refused its stored config, nothing was built or imported: {what}", what)


def _check(value, where: str, source: str, names: set[str]) -> None:
    # an explicit stack, not recursion: a file's nesting must not be able to exhaust Python's
    stack = [(value, where)]
    while stack:
        value, where = stack.pop()
        if len(stack) > 100_000 or where.count(".") + where.count("[") > 64:
            raise _refuse(source, f"{where[:80]}... nests deeper than any config does")
        if isinstance(value, (list, tuple)):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(value))
            continue
        if not isinstance(value, dict):
            if not isinstance(value, _SCALARS):
                raise _refuse(source, f"{where} is a {type(value).__name__}, not plain data")
            continue
        for key, item in value.items():
            _check_key(key, item, where, source, names)
            stack.append((item, f"{where}.{key}"))


def _check_key(key, item, where: str, source: str, names: set[str]) -> None:
    if not isinstance(key, str):
        raise _refuse(source, f"{where} has a non-string key {key!r}")
    if key in _IMPORTING_KEYS:
        raise _refuse(source, f"{where}.{key} is not allowed (it makes mmengine import modules or read other files)")
    if key == "_scope_":
        if item != "zoo":
            raise _refuse(source, f"{where}._scope_={item!r}; only the zoo's scope is allowed (another scope "
                                  f"imports that package's modules)")
        return
    if not _IDENTIFIER.fullmatch(key) or keyword.iskeyword(key):
        raise _refuse(source, f"{where} has the key {key[:60]!r}, which is not a Python identifier (config keys "
                              f"are argument names; any other key would be written unescaped into config dumps)")
    if key == "type":
        _check_type(item, f"{where}.type", source, names)


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


def config_from_data(data, source: str, meta_format: int | None = None):
    """An mmengine ``Config`` of what a model file may carry, rebuilt from its plain data after
    :func:`check_config_data`; no code runs. Sections a file may not carry are dropped and named in the ``zoo``
    log (files written before the allow-list carried the whole run config; every one of them has such sections,
    so this is information, not a warning)."""
    from mmengine.config import Config

    if isinstance(data, str):
        raise LegacyCheckpointError(
            f"{source} was saved by an older zoo, which stored its config as Python text that only running it "
            f"could read; it was not loaded. If you trust where the file came from, convert it once with "
            f"`zoo checkpoint upgrade {source}`")
    if not isinstance(data, dict):
        raise _refuse(source, f"it is a {type(data).__name__}, not a dict")
    _refuse_imports(data, source)  # even in sections about to be dropped: such a file is hostile, say so
    kept, dropped = carried_sections(data)
    check_config_data(kept, source)
    if isinstance(kept.get("model"), dict) and (meta_format or FORMAT) < FORMAT:
        kept["model"] = _upgrade_model(kept["model"], meta_format or FORMAT)
    if dropped:
        logging.getLogger("zoo").info(
            "%s: ignored what a model file may not decide (%s); the zoo's defaults and your command line decide "
            "those", source, ", ".join(dropped))
    return Config(_plain(kept, "config"))


def _upgrade_model(model: dict, meta_format: int) -> dict:
    """A model config of an older format, with the parts its detector used to fill in by code spelled out."""
    from .migrations import upgrade_model_config

    return upgrade_model_config(model, meta_format)


def without_config_text(meta) -> dict:
    """mmengine's checkpoint ``meta`` without the config as Python text: ``cfg``, which its Runner writes, and
    ``config``, which its resume executes with ``Config.fromstring`` to count GPUs. The zoo keeps the config as
    checked plain data in ``zoo_meta``, so neither is needed, and a file's text must never be executed."""
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if k not in ("cfg", "config")}


def checkpoint_config(meta: dict, path):
    """The config stored in a model file's (checked) metadata, rebuilt as plain data: nothing runs or is imported,
    and only what a model file may carry comes back."""
    if "config" not in meta:
        raise ModelFileError(f"{path} carries no config in its zoo metadata, so its model cannot be rebuilt")
    return config_from_data(meta["config"], str(path), meta_format=meta.get("format"))
