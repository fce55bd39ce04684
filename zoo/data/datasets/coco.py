"""COCO keypoint files (CVAT, MMPose, Ultralytics exports) as a training reader: see :mod:`zoo.data.coco`."""
from __future__ import annotations

import numpy as np

from zoo.registry import DATASETS

from ..coco import read_coco
from ..errors import AnnotationError, DataNotFoundError, how_to_fix_missing
from ..landmark_sets import is_known_symbol
from ..paths import did_you_mean
from .base import LandmarkDataset


@DATASETS.register_module()
class CocoKeypointDataset(LandmarkDataset):
    """Landmarks from a COCO keypoint file; the category's keypoint names are matched to the landmark set by name
    (symbols, full names, aliases, a ``label_map``), so a CVAT project's own names read without a conversion.

    Args:
        ann_file: the COCO JSON, relative to ``data_root``.
        img_dir: folder the images' ``file_name`` is relative to (default: the JSON's folder). A ``file_name`` may
            name a DICOM file (``.dcm``).
        category: the category (id or name) to read when the file has several with keypoints.
        spacing: mm per pixel for images without a ``spacing`` of their own.
        unknown_labels: ``'error'`` for a keypoint name no built-in set knows (a typo), or ``'ignore'``.
    """

    DEFAULT_SET = "isbi2015"
    NAMED_LABELS = True

    def __init__(self, ann_file: str = "", data_root="", img_dir: str | None = None, category=None,
                 spacing: float | None = None, unknown_labels: str = "error", **kwargs):
        if unknown_labels not in ("error", "ignore"):
            raise ValueError(f"CocoKeypointDataset: unknown_labels must be 'error' or 'ignore', got {unknown_labels!r}")
        self.ann_file_arg, self.img_dir_arg, self.category = ann_file, img_dir, category
        self.spacing, self.unknown_labels = spacing, unknown_labels
        super().__init__(data_root=data_root, **kwargs)

    def check_layout(self) -> None:
        self.ann_path = self.root / self.ann_file_arg if self.ann_file_arg else None
        if self.ann_path is None or not self.ann_path.is_file():
            where = self.ann_path or "(ann_file not set)"
            hint = did_you_mean(where) if self.ann_path else ""
            raise DataNotFoundError(f"COCO keypoint file not found: {where}{hint} (data_root={self.root}). "
                                    + how_to_fix_missing(), reason="missing data")
        self.image_dir = self.root / self.img_dir_arg if self.img_dir_arg is not None else self.ann_path.parent

    def _mapping(self, names: list[str]) -> list[int | None]:
        """Each keypoint name's index in the landmark set (None: left out), refusing a name no set knows."""
        out = []
        for name in names:
            index = self.landmark_set.lookup(name)
            if index is None and not self.landmark_set.ignores(name) and self.unknown_labels == "error" \
                    and not is_known_symbol(name):
                raise AnnotationError(
                    f"{self.ann_path}: keypoint {name!r} is no landmark of {self.landmark_set.name!r} nor of any "
                    "built-in set; map it with label_map={" + repr(name) + ": 'S'} (or None to leave it out), or "
                    "set unknown_labels='ignore'", reason="unknown label")
            out.append(index)
        return out

    def iter_records(self):
        doc = read_coco(self.ann_path, self.category)
        mapping = self._mapping(doc["names"])
        k = len(self.landmark_set)
        for sample in doc["samples"]:
            def read(sample=sample):
                pts = np.zeros((k, 2), np.float64)
                labelled = np.zeros(k, bool)
                for name, (x, y, v), index in zip(doc["names"], sample["keypoints"], mapping):
                    if v == 0:  # not labelled (COCO writes x = y = 0)
                        continue
                    self.label_counts[name] += 1
                    if index is not None:
                        pts[index], labelled[index] = (x, y), True
                shape = (int(sample["height"]), int(sample["width"])) if sample.get("height") and \
                    sample.get("width") else None
                spacing = sample["spacing"] if sample["spacing"] is not None else self.spacing
                return {"img_path": self.image_dir / sample["file_name"], "keypoints": pts, "labelled": labelled,
                        "spacing": spacing, "ori_shape": shape}

            yield sample["source"], read
