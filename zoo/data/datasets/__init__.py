"""Readers: each turns one on-disk layout into the sample dicts of :mod:`zoo.structures`."""
from .aariz import AarizDataset, read_aariz_json, read_pixel_sizes
from .base import LandmarkDataset
from .ceph31 import Ceph31Dataset
from .cldetection import CLDetection2023Dataset
from .coco import CocoKeypointDataset
from .csv_landmarks import CsvLandmarkDataset
from .isbi2015 import ISBI2015Dataset, read_isbi_annotation
from .labelstudio import LabelStudioDataset

__all__ = [
    "AarizDataset", "CLDetection2023Dataset", "Ceph31Dataset", "CocoKeypointDataset", "CsvLandmarkDataset",
    "ISBI2015Dataset", "LabelStudioDataset", "LandmarkDataset", "read_aariz_json", "read_isbi_annotation",
    "read_pixel_sizes",
]
