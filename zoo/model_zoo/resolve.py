"""A model argument is a file or a name: ``zoo predict isbi19 x.jpg`` and ``zoo predict my.pth x.jpg`` alike.

A path that exists always wins, so a local file called like a model is never shadowed. A name resolves to the
shipped copy or to the verified cache; a name that is not downloaded yet is an error that says what to run,
never a silent download (clinics run offline, and a model should change only when someone asks).
"""
from __future__ import annotations

from pathlib import Path

from zoo.registry import ZooError

from .cache import DownloadError, cached_path, verify
from .index import ModelIndexError, get_entry, model_names

#: files a model is rebuilt from (its config inside), and every model file; an argument with one is a path
CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
MODEL_SUFFIXES = CHECKPOINT_SUFFIXES + (".onnx", ".ts", ".torchscript")


def looks_like_name(value) -> bool:
    text = str(value)
    return bool(text) and Path(text).name == text and Path(text).suffix.lower() not in MODEL_SUFFIXES + (".py",)


def resolve_model(name_or_path) -> Path:
    """The file behind a model argument: an existing path as given, a named model's verified weights, or an
    error that names the model index (and the closest names) when it is neither."""
    path = Path(name_or_path).expanduser()
    if path.exists() or not looks_like_name(name_or_path):
        return path
    try:
        entry = get_entry(str(name_or_path))
    except ModelIndexError as exc:
        raise ModelIndexError(f"{name_or_path}: no such file, and {str(exc)[0].lower()}{str(exc)[1:]}") from None
    if entry.shipped:
        target = entry.shipped_path
        if not target.is_file():
            raise ModelIndexError(f"model {entry.name!r} should ship with the package at {target}, which is missing; "
                                  f"reinstall ceph-zoo or run `zoo download {entry.name} --from FILE`")
    else:
        target = cached_path(entry)
        if not target.is_file():
            raise ModelIndexError(f"model {entry.name!r} is not downloaded yet; run `zoo download {entry.name}`")
    try:
        verify(target, entry)
    except DownloadError as exc:
        raise ModelIndexError(f"{exc}; run `zoo download {entry.name} --force`") from None
    return target


def resolve_if_name(value):
    """``value`` resolved when it is a model name and no such file exists; anything else is returned unchanged
    (config files, and the paths whose own readers say best what is wrong with them)."""
    if value is None or Path(str(value)).exists() or not looks_like_name(value):
        return value
    if str(value) not in model_names():
        return value
    return resolve_model(value)


__all__ = ["ZooError", "looks_like_name", "resolve_if_name", "resolve_model"]
