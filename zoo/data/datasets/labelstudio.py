"""Label Studio keypoint exports (JSON): percentages of the image size, image references to match.

A task's keypoint result is ``{"original_width": W, "original_height": H, "value": {"x": X, "y": Y,
"keypointlabels": ["p1"]}}`` with X, Y in percent: ``px = X / 100 * W``. Image
references (``/data/upload/6/8f3a2c1d-017.jpg``, URLs, ``/data/local-files/?d=dir/017.jpg``) are matched
to local files by name, with and without Label Studio's 8-hex upload prefix.

A missing label is an invisible landmark (weight 0); a label given twice, or a task whose image matches
no local file, is an error naming the task id.
"""
from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np
from mmengine.logging import print_log

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataNotFoundError, ImageReadError, how_to_fix_missing
from ..imageio import IMAGE_SUFFIXES
from ..labels import describe_suggestions, suggest

# the format (flat exports, the percent convention) is zoo.data.labelstudio's; px_to_percent stays importable
# from here for existing callers
from ..labelstudio import is_flat_record, percent_to_px, px_to_percent, read_csv_export, task_from_record  # noqa: F401
from ..landmark_sets import LandmarkSet, is_known_symbol
from .base import LandmarkDataset

_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-", re.IGNORECASE)


@dataclass
class LabelStudioTask:
    """One task's keypoints, in a landmark set's order."""

    task_id: object
    image_ref: str
    width: int | None
    height: int | None
    keypoints: np.ndarray  # (K, 2) px
    labelled: np.ndarray  # (K,) bool
    source: str
    names: list[str] = field(default_factory=list)  # candidate local file names, best first


def image_names(ref: str) -> list[str]:
    """Local file names an image reference may stand for: its base name, then without the upload hash."""
    ref = str(ref).strip()
    parsed = urlparse(ref)
    path = unquote(parsed.path)
    query = parse_qs(parsed.query)
    if "d" in query:  # local-files storage: /data/local-files/?d=folder/img.jpg
        path = unquote(query["d"][0])
    base = path.replace("\\", "/").rstrip("/").split("/")[-1]
    names = [base]
    stripped = _UPLOAD_PREFIX.sub("", base)
    if stripped != base:
        names.append(stripped)
    return names


def _image_ref(task: dict) -> str | None:
    data = task.get("data") or {}
    if isinstance(data, dict):
        for key in ("image", "img", "ceph", "url"):
            if isinstance(data.get(key), str):
                return data[key]
        for value in data.values():
            if isinstance(value, str) and value.lower().split("?")[0].endswith(IMAGE_SUFFIXES):
                return value
        for value in data.values():
            if isinstance(value, str) and "?d=" in value:
                return value
    if isinstance(task.get("file_upload"), str):
        return task["file_upload"]
    return None


def _pick_annotation(task: dict) -> dict | None:
    annotations = task.get("annotations") or task.get("completions") or []
    kept = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    return kept[0] if kept else None


def load_export(path: str | Path) -> list:
    """The tasks of an export: Label Studio's JSON, or its flat JSON-MIN and CSV forms as the same tasks."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".tsv") and path.is_file():
        return read_csv_export(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataNotFoundError(f"{path}: Label Studio export not found", reason="missing annotation") from None
    except (ValueError, RecursionError) as exc:  # also bad UTF-8, 5000-digit numbers, nesting too deep
        raise AnnotationError(f"{path}: not valid JSON ({exc})", reason="malformed annotation") from None
    if isinstance(doc, dict) and isinstance(doc.get("tasks"), list):
        doc = doc["tasks"]
    if not isinstance(doc, list):
        raise AnnotationError(f"{path}: a Label Studio JSON export is a list of tasks, got {type(doc).__name__}",
                              reason="malformed annotation")
    return [task_from_record(item) if is_flat_record(item) else item for item in doc]


def parse_task(task: dict, index: int, lset: LandmarkSet, path: Path, unknown_labels: str = "error",
               seen: Counter | None = None) -> LabelStudioTask | None:
    """One task -> keypoints in ``lset``'s order; None when the task has no (uncancelled) annotation.

    ``seen`` counts each label as written (once per task), known or not: what ``zoo data check`` reports.
    """
    if not isinstance(task, dict):
        raise AnnotationError(f"{path}: entry {index} is not a task object", reason="malformed annotation")
    where = f"{path} task {task.get('id', f'#{index}')}"
    try:
        return _parse_task(task, index, lset, where, unknown_labels, seen)
    except (TypeError, AttributeError) as exc:  # a field of the wrong kind: a number where a list belongs...
        raise AnnotationError(f"{where}: malformed task ({type(exc).__name__}: {exc})",
                              reason="malformed annotation") from None


def _parse_task(task: dict, index: int, lset: LandmarkSet, where: str, unknown_labels: str, seen):
    task_id = task.get("id", f"#{index}")
    ref = _image_ref(task)
    if ref is None:
        raise AnnotationError(f"{where}: no image reference in 'data'", reason="malformed annotation")
    annotation = _pick_annotation(task)
    if annotation is None:
        return None
    kpts = np.zeros((len(lset), 2), np.float64)
    labelled = np.zeros(len(lset), bool)
    width = height = None
    points = []
    for result in annotation.get("result") or []:
        if not isinstance(result, dict) or result.get("type", "keypointlabels") != "keypointlabels":
            continue
        value = result.get("value") or {}
        labels = value.get("keypointlabels") or []
        if labels:
            points.append((str(labels[0]), result, value))
    if seen is not None:
        seen.update({label for label, _, _ in points})
    for label, result, value in points:
        i = lset.lookup(label)
        if i is None:
            if unknown_labels == "error" and not lset.ignores(label) and not is_known_symbol(label):
                hint = describe_suggestions(suggest(label, lset), lset)
                raise AnnotationError(f"{where}: unknown label {label!r}{hint} (landmark set {lset.name!r}: "
                                      f"{', '.join(lset.symbols)}; a label_map maps names of your own)",
                                      reason="unknown label")
            continue
        if labelled[i]:
            raise AnnotationError(f"{where}: label {label!r} appears twice", reason="duplicate label")
        try:
            w, h = float(result["original_width"]), float(result["original_height"])
            x, y = float(value["x"]), float(value["y"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"{where}: keypoint {label!r} lacks x/y/original_width/original_height ({exc})",
                                  reason="malformed annotation") from None
        if width is not None and (w, h) != (width, height):
            raise AnnotationError(f"{where}: keypoints disagree on the image size ({width}x{height} vs {w}x{h})",
                                  reason="image size mismatch")
        width, height = w, h
        kpts[i] = (percent_to_px(x, w), percent_to_px(y, h))
        labelled[i] = True
    return LabelStudioTask(task_id=task_id, image_ref=ref,
                           width=None if width is None else int(round(width)),
                           height=None if height is None else int(round(height)),
                           keypoints=kpts, labelled=labelled, source=where, names=image_names(ref))


class ImageIndex:
    """Local images of one or more folders, looked up by file name (exact, then case-insensitive)."""

    def __init__(self, folders):
        self.by_name: dict[str, Path] = {}
        self.by_lower: dict[str, Path] = {}
        for folder in folders:
            folder = Path(folder)
            if not folder.is_dir():
                continue
            for p in sorted(folder.rglob("*")):
                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
                    self.by_name.setdefault(p.name, p)
                    self.by_lower.setdefault(p.name.lower(), p)

    def match(self, names: list[str]) -> Path | None:
        for name in names:
            if name in self.by_name:
                return self.by_name[name]
        for name in names:
            if name.lower() in self.by_lower:
                return self.by_lower[name.lower()]
        return None


def match_task(task: LabelStudioTask, index: ImageIndex, folders_desc: str) -> Path:
    found = index.match(task.names)
    if found is None:
        raise ImageReadError(
            f"{task.source}: image {task.image_ref!r} matches no file in {folders_desc} "
            f"(looked for {' or '.join(repr(n) for n in task.names)})", reason="unmatched image")
    return found


@DATASETS.register_module()
class LabelStudioDataset(LandmarkDataset):
    """A Label Studio keypoint export (JSON, JSON-MIN or CSV) with its images in a local folder.

    Args:
        ann_file: the export, relative to ``data_root``.
        img_dir: folder searched (recursively) for the images, relative to ``data_root`` (default: it).
        landmark_set: the labels' set (default ``'ruler'``: p1, p2).
        spacing: mm per pixel for every image, when known (Label Studio has no such field).
        unknown_labels: ``'error'`` (a label of no known set: a typo) or ``'ignore'``; labels of another
            built-in set are always ignored, so a 31-landmark export reads as the ruler pair.
    """

    DEFAULT_SET = "ruler"
    NAMED_LABELS = True

    def __init__(self, ann_file: str = "", data_root="", img_dir: str = "", spacing: float | None = None,
                 unknown_labels: str = "error", **kwargs):
        self.ann_file_arg, self.img_dir_arg = ann_file, img_dir
        self.spacing, self.unknown_labels = spacing, unknown_labels
        super().__init__(data_root=data_root, **kwargs)

    def check_layout(self) -> None:
        self.export = self.root / self.ann_file_arg if self.ann_file_arg else None
        self.image_dir = self.root / self.img_dir_arg if self.img_dir_arg else self.root
        if self.export is None or not self.export.is_file():
            raise DataNotFoundError(
                f"Label Studio export not found: {self.export or '(ann_file not set)'} (data_root={self.root}). "
                "Expected a JSON or CSV export (tasks with keypointlabels). " + how_to_fix_missing(),
                reason="missing data")
        if not self.image_dir.is_dir():
            raise DataNotFoundError(f"image folder {self.image_dir} not found for {self.export}. "
                                    + how_to_fix_missing(), reason="missing data")

    def iter_records(self):
        tasks = load_export(self.export)
        index = ImageIndex([self.image_dir])
        unannotated = []
        for i, raw in enumerate(tasks):
            task_id = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"

            def read(raw=raw, i=i):
                task = parse_task(raw, i, self.landmark_set, self.export, self.unknown_labels, self.label_counts)
                if task is None:
                    unannotated.append(i)
                    return None
                img = match_task(task, index, str(self.image_dir))
                shape = (task.height, task.width) if task.width else None
                return {"img_path": img, "keypoints": task.keypoints, "labelled": task.labelled,
                        "spacing": self.spacing, "ori_shape": shape, "extra": {"task_id": task.task_id}}

            yield f"{self.export} task {task_id}", read
        if unannotated:
            print_log(f"{self.export}: {len(unannotated)} task(s) without an annotation were left out",
                      logger="current", level=logging.WARNING)
