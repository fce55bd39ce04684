"""What a dataset config says about its images' scale without reading any: the pixel size it states for all of them,
and the anatomy size its reader measured on its native landmark set.

A model file written before #39 records neither the pixel size it was trained at nor its training anatomy's size; its
stored config still names its training dataset, and for a layout that fixes the pixel size (ISBI 2015: 0.1 mm/px) or
a config that states one (``spacing=``), that is the model's (``zoo.inference.scale``). Importing this module
registers every reader (the package's ``__init__``), so a config's ``type`` resolves.
"""
from __future__ import annotations

from zoo.registry import DATASETS

from ..spacing import spacing_problem


def _leaf_datasets(cfg) -> list:
    """The reader configs inside a dataset config, looking through wrappers (``dataset=``, ``datasets=[...]``)."""
    if not isinstance(cfg, dict):
        return []
    if isinstance(cfg.get("datasets"), (list, tuple)):
        return [leaf for inner in cfg["datasets"] for leaf in _leaf_datasets(inner)]
    if isinstance(cfg.get("dataset"), dict):
        return _leaf_datasets(cfg["dataset"])
    return [cfg]


def _reader(cfg):
    """The registered reader a config names; None for anything else (a dotted name would make mmengine import the
    scope it names, and a model file's config must never import anything)."""
    name = cfg.get("type")
    return DATASETS.get(name) if isinstance(name, str) and name.isidentifier() else None


def declared_spacing(dataset_cfg) -> float | None:
    """The pixel size a dataset config states for every image without reading any: its ``spacing`` argument, else
    its reader's fixed one (``ISBI2015Dataset``: 0.1 mm/px); None when it varies per image, is unknown, or the
    wrapped datasets differ by more than 1 %. What a model trained before model files recorded their training pixel
    size was trained at (``zoo.inference.scale``)."""
    found = []
    for leaf in _leaf_datasets(dataset_cfg):
        reader = _reader(leaf)
        value = leaf.get("spacing")
        if value is None and reader is not None:
            value = getattr(reader, "SPACING_MM", None)
        if value is None or spacing_problem(value) is not None:
            return None
        found.append(float(value))
    if not found or max(found) > 1.01 * min(found):
        return None
    return found[0]


def declared_anatomy(dataset_cfg) -> dict | None:
    """The anatomy size a dataset config's reader declares for its native landmark set (``ANATOMY``), when the config
    reads that set and wraps no other dataset; None otherwise."""
    leaves = _leaf_datasets(dataset_cfg)
    if len(leaves) != 1:
        return None
    reader = _reader(leaves[0])
    anatomy = getattr(reader, "ANATOMY", None) if reader is not None else None
    landmark_set = leaves[0].get("landmark_set") or getattr(reader, "DEFAULT_SET", None)
    return dict(anatomy) if anatomy and landmark_set == getattr(reader, "NATIVE_SET", None) else None
