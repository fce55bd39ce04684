"""ISBI 2015 grand-challenge layout: ``RawImage/<split>/NNN.(bmp|jpg|png)`` and
``AnnotationsByMD/400_{senior,junior}/NNN.txt`` (19 lines ``x,y``; the original release adds 8 lines of
classification labels, which are ignored). Every image is 0.1 mm per pixel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataNotFoundError, how_to_fix_missing
from ..imageio import find_images
from ..paths import did_you_mean, find_child
from .base import LandmarkDataset

NUM_LANDMARKS = 19
SPACING_MM = 0.1
SPLITS = {"train": "TrainingData", "test1": "Test1Data", "test2": "Test2Data"}
ANNOTATORS = ("senior", "junior", "mean")
LAYOUT = ("RawImage/{TrainingData,Test1Data,Test2Data}/NNN.(bmp|jpg|png) and "
          "AnnotationsByMD/{400_senior,400_junior}/NNN.txt (19 lines 'x,y')")


def read_isbi_annotation(path: str | Path) -> np.ndarray:
    """The 19 ``x,y`` points of one ISBI annotation file as a (19, 2) float32 array (pixels).

    Lines after the 19th (the original release's classification labels) are ignored; a short file or a
    malformed line raises :class:`AnnotationError` naming the file and line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise AnnotationError(f"{path}: annotation file not found", reason="missing annotation") from None
    points = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if len(points) == NUM_LANDMARKS:
            break
        parts = line.replace(";", ",").replace("\t", ",").split(",")
        if len(parts) != 2:
            if "," not in line and len(points) < NUM_LANDMARKS:
                raise AnnotationError(f"{path}:{lineno}: expected 'x,y', got {line!r} "
                                      f"(only {len(points)} of {NUM_LANDMARKS} landmarks before it)",
                                      reason="wrong landmark count")
            raise AnnotationError(f"{path}:{lineno}: expected 'x,y', got {line!r}", reason="malformed annotation")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise AnnotationError(f"{path}:{lineno}: expected numbers 'x,y', got {line!r}",
                                  reason="malformed annotation") from None
    if len(points) != NUM_LANDMARKS:
        raise AnnotationError(f"{path}: {len(points)} landmarks, expected {NUM_LANDMARKS}",
                              reason="wrong landmark count")
    return np.asarray(points, np.float32)


@DATASETS.register_module()
class ISBI2015Dataset(LandmarkDataset):
    """ISBI 2015 lateral cephalograms: 19 landmarks, 0.1 mm/px, senior/junior/mean annotation.

    Args:
        split: ``'train'``, ``'test1'``, ``'test2'`` or a folder name under ``RawImage``.
        annotator: ``'senior'``, ``'junior'`` or ``'mean'`` (of both; reports must say which).
        landmark_set: default ``'isbi2015'``; another set (e.g. ``'aariz'``) gets the shared landmarks.
    Known quirk: some images are byte-identical across splits (038 = 283, 144 = 173).
    """

    NATIVE_SET = "isbi2015"
    DEFAULT_SET = "isbi2015"
    SPACING_MM = SPACING_MM
    #: the 19 landmarks' constellation size (:mod:`zoo.quality.scale`) over TrainingData 001-150: what a model
    #: trained here, written before model files recorded their own training anatomy (``zoo_meta['anatomy']``), reads
    #: the pixel size of an image nobody measured against. Test1's 150 give 44.87 +- 3.17 mm.
    ANATOMY = {"symbols": ["S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Gn", "Go", "LIT", "UIT", "Ls", "Li", "Sn",
                           "Pog'", "PNS", "ANS", "Ar"],
               "mean_mm": 44.3747, "sd_mm": 2.8481, "num_shapes": 150,
               "source": "ISBI 2015 TrainingData 001-150, senior annotation, 0.1 mm/px"}

    def __init__(self, data_root="", split: str = "train", annotator: str = "senior", **kwargs):
        if annotator not in ANNOTATORS:
            raise ValueError(f"ISBI2015Dataset: annotator must be one of {ANNOTATORS}, got {annotator!r}")
        self.split = split
        self.annotator = annotator
        super().__init__(data_root=data_root, **kwargs)

    def _missing(self, what: str) -> DataNotFoundError:
        return DataNotFoundError(
            f"ISBI 2015 data not found: {what}. Expected under data_root={self.root}: {LAYOUT}. "
            + how_to_fix_missing(), reason="missing data")

    def check_layout(self) -> None:
        if not self.root.is_dir():
            raise self._missing(f"{self.root} does not exist{did_you_mean(self.root)}")
        raw = find_child(self.root, "RawImage")
        if raw is None:
            raise self._missing(f"no RawImage folder in {self.root}")
        folder = SPLITS.get(self.split.lower(), self.split)
        self.image_dir = find_child(raw, folder)
        if self.image_dir is None or not self.image_dir.is_dir():
            present = ", ".join(sorted(p.name for p in raw.iterdir() if p.is_dir())) or "none"
            raise self._missing(f"no split folder {raw / folder} (split={self.split!r}; present: {present})")
        ann = find_child(self.root, "AnnotationsByMD")
        if ann is None:
            raise self._missing(f"no AnnotationsByMD folder in {self.root}")
        wanted = ["senior", "junior"] if self.annotator == "mean" else [self.annotator]
        self.ann_dirs = []
        for who in wanted:
            d = find_child(ann, f"400_{who}")
            if d is None:
                raise self._missing(f"no {ann / f'400_{who}'} folder (needed for annotator={self.annotator!r})")
            self.ann_dirs.append(d)

    def iter_records(self):
        for img in find_images(self.image_dir):
            txts = [d / f"{img.stem}.txt" for d in self.ann_dirs]

            def read(img=img, txts=txts):
                pts = np.mean([read_isbi_annotation(t) for t in txts], axis=0)
                return {"img_path": img, "keypoints": pts, "labelled": np.ones(NUM_LANDMARKS, bool),
                        "spacing": SPACING_MM, "set": self.NATIVE_SET,
                        "extra": {"annotator": self.annotator}}

            yield str(txts[0]), read
