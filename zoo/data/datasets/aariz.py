"""Aariz layout: per-image landmark JSON, per-image pixel size from ``cephalogram_machine_mappings.csv``.

``<split>/Cephalograms/<id>.(png|jpg)``,
``<split>/Annotations/Cephalometric Landmarks/{Senior,Junior} Orthodontists/<id>.json`` holding
``{"landmarks": [{"symbol": ..., "value": {"x": ..., "y": ...}}, ...]}``, and
``cephalogram_machine_mappings.csv`` (``cephalogram_id, machine, pixel_size, ...``; may start with a
BOM) in the dataset root or the split folder. Split folders match case-insensitively (``Train``/``train``).
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
from mmengine.logging import print_log

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataNotFoundError, how_to_fix_missing
from ..imageio import find_images
from ..labels import describe_suggestions, suggest
from ..landmark_sets import LandmarkSet, is_known_symbol
from ..paths import did_you_mean, find_child
from ..spacing import spacing_problem
from .base import LandmarkDataset

ANNOTATORS = {"senior": ("senior",), "junior": ("junior",), "mean": ("senior", "junior")}
ANN_SUBDIR = ("Annotations", "Cephalometric Landmarks")
ANNOTATOR_DIRS = {"senior": "Senior Orthodontists", "junior": "Junior Orthodontists"}
MAPPINGS_CSV = "cephalogram_machine_mappings.csv"
LAYOUT = ("<split>/Cephalograms/<id>.(png|jpg), <split>/Annotations/Cephalometric Landmarks/"
          "Senior Orthodontists/<id>.json and cephalogram_machine_mappings.csv (pixel_size per image)")


def read_aariz_json(path: Path, lset: LandmarkSet, unknown_labels: str = "error", seen: Counter | None = None):
    """One per-image Aariz JSON -> (keypoints (K, 2) px, labelled (K,)) in ``lset``'s order.

    ``seen`` counts each label as written (once per file), known or not: what ``zoo data check`` reports.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise AnnotationError(f"{path}: annotation file not found", reason="missing annotation") from None
    except (ValueError, RecursionError) as exc:  # also bad UTF-8, 5000-digit numbers, nesting too deep
        raise AnnotationError(f"{path}: not valid JSON ({exc})", reason="malformed annotation") from None
    entries = doc.get("landmarks") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise AnnotationError(f"{path}: expected {{'landmarks': [...]}} (Aariz per-image JSON)",
                              reason="malformed annotation")
    kpts = np.zeros((len(lset), 2), np.float64)
    labelled = np.zeros(len(lset), bool)
    if seen is not None:
        seen.update({str(e.get("symbol") or e.get("title")) for e in entries
                     if isinstance(e, dict) and (e.get("symbol") or e.get("title"))})
    for n, entry in enumerate(entries):
        try:
            label = entry.get("symbol") or entry.get("title")
            value = entry["value"]
            x, y = float(value["x"]), float(value["y"])
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"{path}: landmark entry {n} lacks symbol/value.x/value.y ({exc!r})",
                                  reason="malformed annotation") from None
        i = lset.lookup(str(label))
        if i is None and entry.get("title"):
            i = lset.lookup(str(entry["title"]))
        if i is None:
            if unknown_labels == "error" and not lset.ignores(str(label)) and not is_known_symbol(str(label)):
                hint = describe_suggestions(suggest(str(label), lset), lset)
                raise AnnotationError(f"{path}: unknown landmark {label!r}{hint} (set {lset.name!r}; a label_map "
                                      "maps names of your own)", reason="unknown label")
            continue
        if labelled[i]:
            raise AnnotationError(f"{path}: landmark {label!r} appears twice", reason="duplicate label")
        kpts[i] = (x, y)
        labelled[i] = True
    return kpts, labelled


def read_pixel_sizes(path: Path) -> dict[str, float]:
    """``cephalogram_id -> pixel_size`` (mm/px) from the machine mappings CSV (BOM tolerated)."""
    try:
        rows = list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise AnnotationError(f"{path}: not a readable UTF-8 CSV ({exc})", reason="malformed annotation") from None
    reader = iter(rows)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise AnnotationError(f"{path}: empty CSV", reason="malformed annotation") from None
    try:
        id_col = header.index("cephalogram_id")
        size_col = header.index("pixel_size")
    except ValueError:
        raise AnnotationError(f"{path}: needs columns cephalogram_id and pixel_size, has {header}",
                              reason="malformed annotation") from None
    sizes = {}
    for lineno, row in enumerate(reader, 2):
        if not row or not any(c.strip() for c in row):
            continue
        try:
            value = float(row[size_col])
            key = row[id_col].strip()
        except (IndexError, ValueError):
            raise AnnotationError(f"{path}:{lineno}: needs a cephalogram_id and a numeric pixel_size ({row!r})",
                                  reason="malformed annotation") from None
        problem = spacing_problem(value)
        if problem is not None:
            raise AnnotationError(f"{path}:{lineno}: pixel_size {problem}", reason="bad spacing")
        sizes[key] = value
        sizes.setdefault(Path(key).stem, value)
    return sizes


@DATASETS.register_module()
class AarizDataset(LandmarkDataset):
    """The Aariz dataset layout: 29 landmarks, per-image pixel spacing, senior/junior/mean annotation.

    Args:
        split: folder under ``data_root`` (``'train'``, ``'valid'``, ``'test'``; any case). When
            ``data_root`` itself holds ``Cephalograms``, it is the split.
        annotator: ``'senior'``, ``'junior'`` or ``'mean'`` (plain mean; the Aariz paper's ground truth
            rounds it up).
        unknown_labels: ``'error'`` for a landmark no built-in set knows, or ``'ignore'``.
    """

    DEFAULT_SET = "aariz"
    DATASET_TITLE = "Aariz"
    NAMED_LABELS = True

    def __init__(self, data_root="", split: str = "train", annotator: str = "senior",
                 unknown_labels: str = "error", **kwargs):
        if annotator not in ANNOTATORS:
            raise ValueError(f"{type(self).__name__}: annotator must be one of {tuple(ANNOTATORS)}, got {annotator!r}")
        self.split, self.annotator, self.unknown_labels = split, annotator, unknown_labels
        super().__init__(data_root=data_root, **kwargs)

    def _missing(self, what: str) -> DataNotFoundError:
        return DataNotFoundError(
            f"{self.DATASET_TITLE} data not found: {what}. Expected under data_root={self.root}: {LAYOUT}. "
            + how_to_fix_missing(), reason="missing data")

    def check_layout(self) -> None:
        if not self.root.is_dir():
            raise self._missing(f"{self.root} does not exist{did_you_mean(self.root)}")
        self.split_dir = self.root if find_child(self.root, "Cephalograms") else find_child(self.root, self.split)
        if self.split_dir is None or not self.split_dir.is_dir():
            present = ", ".join(sorted(p.name for p in self.root.iterdir() if p.is_dir())) or "none"
            raise self._missing(f"no split folder {self.split!r} in {self.root} (present: {present})")
        self.image_dir = find_child(self.split_dir, "Cephalograms")
        if self.image_dir is None:
            raise self._missing(f"no Cephalograms folder in {self.split_dir}")
        ann = self.split_dir
        for part in ANN_SUBDIR:
            ann = find_child(ann, part) if ann is not None else None
        if ann is None:
            raise self._missing(f"no {'/'.join(ANN_SUBDIR)} folder in {self.split_dir}")
        self.ann_dirs = []
        for who in ANNOTATORS[self.annotator]:
            d = find_child(ann, ANNOTATOR_DIRS[who])
            if d is None:
                raise self._missing(f"no {ann / ANNOTATOR_DIRS[who]} folder (annotator={self.annotator!r})")
            self.ann_dirs.append(d)

    def pixel_sizes(self) -> dict[str, float]:
        for folder in (self.split_dir, self.root):
            csv_path = find_child(folder, MAPPINGS_CSV)
            if csv_path is not None and csv_path.is_file():
                return read_pixel_sizes(csv_path)
        print_log(f"{self.root}: no {MAPPINGS_CSV}; pixel spacing unknown, errors will be in pixels only",
                  logger="current", level=logging.WARNING)
        return {}

    def extra_annotations(self, images: list[Path]) -> dict[str, dict[int, tuple]]:
        """Hook for readers that add landmarks from other files.

        Returns image file name -> {annotator index: (keypoints (K, 2), labelled (K,))}; those fill the
        landmarks the per-image JSON lacks.
        """
        return {}

    def _read_one(self, img: Path, jsons: list[Path], extra: dict, spacing):
        k_count = len(self.landmark_set)
        per_annotator = []
        for k, path in enumerate(jsons):
            if path.is_file() or k not in extra:
                kpts, lab = read_aariz_json(path, self.landmark_set, self.unknown_labels, self.label_counts)
            else:
                kpts, lab = np.zeros((k_count, 2)), np.zeros(k_count, bool)
            if k in extra:
                e_kpts, e_lab = extra[k]
                fill = e_lab & ~lab
                kpts[fill], lab[fill] = e_kpts[fill], True
            per_annotator.append((kpts, lab))
        weights = np.stack([m for _, m in per_annotator]).astype(np.float64)[..., None]
        total = (np.stack([k for k, _ in per_annotator]) * weights).sum(axis=0)
        mean = total / np.maximum(weights.sum(axis=0), 1.0)
        return {"img_path": img, "keypoints": mean, "labelled": weights[..., 0].any(axis=0),
                "spacing": spacing, "extra": {"annotator": self.annotator}}

    def iter_records(self):
        images = find_images(self.image_dir)
        sizes = self.pixel_sizes()
        extras = self.extra_annotations(images)
        stems = {p.stem for p in images}
        for d in self.ann_dirs:  # annotation files whose image is gone
            for j in sorted(d.glob("*.json")):
                if j.stem in stems or _is_list_json(j):
                    continue

                def orphan(j=j):
                    raise AnnotationError(f"{j}: no image {j.stem}.* in {self.image_dir}", reason="missing image")

                yield str(j), orphan
        for img in images:
            jsons = [d / f"{img.stem}.json" for d in self.ann_dirs]
            extra = extras.get(img.name, {})

            def read(img=img, jsons=jsons, extra=extra):
                if not any(j.is_file() for j in jsons) and not extra:
                    raise AnnotationError(f"{img}: no annotation {jsons[0]}", reason="missing annotation")
                spacing = sizes.get(img.stem, sizes.get(img.name))
                return self._read_one(img, jsons, extra, spacing)

            yield str(jsons[0]), read


def _is_list_json(path: Path) -> bool:
    """Whether a JSON file is a list (a Label Studio export kept beside the per-image files)."""
    with path.open("rb") as fh:
        head = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"[")
