"""ceph-zoo: landmark detection on cephalometric X-rays, assembled from registered parts.

Data flow, by package: ``zoo.data`` (readers, transforms) -> backbone (plugins) -> ``zoo.necks`` ->
``zoo.heads`` -> ``zoo.decoders`` -> ``zoo.evaluation``; ``zoo.losses`` trains; ``zoo.models`` joins them.

Importing ``zoo`` is cheap (no torch): ``hookimpl`` is all a plugin needs at import time.
"""
from .registry.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
