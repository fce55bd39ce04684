"""ceph-zoo: landmark detection on cephalometric X-rays, assembled from registered parts.

Data flow, by package: ``zoo.data`` (readers, transforms) -> backbone (plugins) -> ``zoo.necks`` ->
``zoo.heads`` -> ``zoo.decoders`` -> ``zoo.evaluation``; ``zoo.losses`` trains; ``zoo.models`` joins them.

Importing ``zoo`` is cheap (no torch): ``hookimpl`` is all a plugin needs at import time, and ``zoo.load`` and
``zoo.train`` (the Python API, :mod:`zoo.api`) import the rest on first use.
"""
from .registry.hookspecs import hookimpl
from .version import __version__

__all__ = ["Landmark", "LandmarkModel", "Prediction", "__version__", "hookimpl", "load", "train"]

_API = {"load", "train", "Landmark", "LandmarkModel", "Prediction"}


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
