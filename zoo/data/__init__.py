"""Data: landmark sets (JSON files), readers (``datasets``), transforms and the synthetic generator.

Importing this package registers every reader in DATASETS and every transform in TRANSFORMS.
"""
from . import datasets, transforms  # noqa: F401  (registration)
from .errors import AnnotationError, DataError, DataNotFoundError, ImageReadError, LandmarkSetError
from .landmark_sets import LandmarkSet, get_landmark_set, list_landmark_sets

__all__ = [
    "AnnotationError", "DataError", "DataNotFoundError", "ImageReadError", "LandmarkSet", "LandmarkSetError",
    "get_landmark_set", "list_landmark_sets",
]
