"""Label Studio, both ways: the labeling interface for a landmark set, the zoo's predictions as pre-annotations,
and Label Studio's flat exports (JSON-MIN, CSV) turned back into tasks the reader understands.

The three agree on one naming, so a round trip needs no mapping: by default an ``Image`` named ``image`` reading
the task field ``$image``, a ``KeyPointLabels`` named ``kp`` with one ``Label`` per landmark *symbol*. A project
set up by hand may name them otherwise (``<Image name="img" value="$img"/>`` is common): :class:`LabelStudioNames`
carries a project's names, read from its labeling interface (:meth:`LabelStudioNames.from_config`), into the
interface and the pre-annotations alike; the reader finds the image under any of the usual task fields. Coordinates
are percent of the original image size (``px = x / 100 * original_width``), the convention of the reader.

This module owns the format (the naming, the coordinate conversion, the flat exports); the reader
``zoo.data.datasets.labelstudio`` imports it and is never imported by it, so the two form no circle.
"""
from __future__ import annotations

import colorsys
import csv
import io
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .errors import AnnotationError
from .landmark_sets import LandmarkSet, get_landmark_set

FROM_NAME = "kp"
TO_NAME = "image"
DATA_KEY = "image"
#: Label Studio's own setting for serving local files; when set, image references are made relative to it
DOCUMENT_ROOT_ENV = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT"
#: the drawn size of a point, percent of the image width (Label Studio's ``value.width``)
POINT_SIZE = 0.4
_EXPORT_FIELDS = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time", "agreement")


def percent_to_px(percent: float, size: float) -> float:
    """Label Studio percent -> pixel, percent of the original size (inverse: :func:`px_to_percent`)."""
    return float(percent) / 100.0 * float(size)


def px_to_percent(px: float, size: float) -> float:
    return float(px) / float(size) * 100.0


@dataclass(frozen=True)
class LabelStudioNames:
    """What a project's labeling interface calls its parts: the ``KeyPointLabels`` control (a result's
    ``from_name``), the ``Image`` object it labels (``toName``, a result's ``to_name``) and the task field the image
    reads (``value="$image"``). Pre-annotations must use the project's names, or Label Studio shows none of them."""

    keypoints: str = FROM_NAME
    image: str = TO_NAME
    data_key: str = DATA_KEY

    @classmethod
    def from_config(cls, config: str | Path) -> LabelStudioNames:
        """The names in a labeling interface (its XML text, or a file holding it: Settings, Labeling Interface,
        Code): the first ``KeyPointLabels`` and the ``Image`` it points at."""
        text = str(config)
        if not text.lstrip().startswith("<"):
            path = Path(config)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise AnnotationError(f"{path}: Label Studio labeling interface not readable ({exc})",
                                      reason="malformed labeling config") from None
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise AnnotationError(f"the Label Studio labeling interface is not XML ({exc}); paste the project's "
                                  f"Settings, Labeling Interface, Code", reason="malformed labeling config") from None
        control = next(iter(root.iter("KeyPointLabels")), None)
        if control is None or not control.get("name") or not control.get("toName"):
            raise AnnotationError("the Label Studio labeling interface has no <KeyPointLabels name=... toName=...>: "
                                  "landmarks are labelled with one", reason="malformed labeling config")
        image = next((e for e in root.iter("Image") if e.get("name") == control.get("toName")), None)
        value = (image.get("value") or "") if image is not None else ""
        if not value.startswith("$"):
            raise AnnotationError(f"the Label Studio labeling interface has no <Image name=\"{control.get('toName')}\" "
                                  f"value=\"$...\"> for its keypoints to label", reason="malformed labeling config")
        return cls(control.get("name"), control.get("toName"), value[1:])


def _colour(i: int, n: int) -> str:
    """Evenly spaced hues, so neighbouring landmarks are told apart on the image."""
    r, g, b = colorsys.hsv_to_rgb((i / max(n, 1)) % 1.0, 0.75, 0.95)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def labeling_config(landmark_set: str | LandmarkSet, names: LabelStudioNames | None = None) -> str:
    """The labeling interface XML: one keypoint label per symbol, each usable once per image, the full name
    as its hover hint; ``names`` for a project that calls its image (or control) otherwise."""
    names = names or LabelStudioNames()
    lset = get_landmark_set(landmark_set)
    view = ET.Element("View")
    ET.SubElement(view, "Header", value=f"{lset.name}: {len(lset)} landmarks, one point each")
    control = ET.SubElement(view, "KeyPointLabels", name=names.keypoints, toName=names.image, strokeWidth="2",
                            opacity="0.9")
    for i, (symbol, name) in enumerate(zip(lset.symbols, lset.names)):
        ET.SubElement(control, "Label", value=symbol, hint=name, maxUsages="1", background=_colour(i, len(lset)))
    ET.SubElement(view, "Image", name=names.image, value=f"${names.data_key}", zoom="true", zoomControl="true")
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def image_reference(image: str | Path, document_root: str | Path | None = None) -> str:
    """What a task's ``data.image`` says for a local image.

    Under Label Studio's local-files document root the reference is ``/data/local-files/?d=<relative path>``,
    which Label Studio serves; otherwise the path as given (forward slashes), which the reader still matches
    by file name.
    """
    path = Path(image)
    root = document_root if document_root is not None else os.environ.get(DOCUMENT_ROOT_ENV)
    if root:
        try:
            rel = path.resolve().relative_to(Path(root).expanduser().resolve())
            return "/data/local-files/?d=" + quote(rel.as_posix(), safe="/")
        except ValueError:
            pass
    return path.as_posix()


def _model_version(model: dict) -> str:
    source = model.get("source")
    name = Path(str(source)).name if source else "ceph-zoo model"
    return f"{name} ({model['runtime']})" if model.get("runtime") else name


def inside(lm: dict, width: int, height: int) -> bool:
    """Whether a predicted point lies on the image (Label Studio's 0..100 %), where an annotator can move it."""
    return 0.0 <= float(lm["x"]) <= width and 0.0 <= float(lm["y"]) <= height


def prediction_task(entry: dict, model_version: str, document_root=None,
                    names: LabelStudioNames | None = None) -> dict:
    """One predictions-file entry as a Label Studio task holding one prediction (pre-annotation).

    A point predicted off the image is left out rather than moved onto its edge: the annotator places that
    landmark, instead of accepting a position the model never gave. The task's score is the mean confidence
    of all landmarks, so Label Studio can sort the least certain images first.
    """
    names = names or LabelStudioNames()
    w, h = int(entry["width"]), int(entry["height"])
    result, scores = [], []
    for k, (symbol, lm) in enumerate(entry["landmarks"].items()):
        scores.append(float(lm["confidence"]))
        if not inside(lm, w, h):
            continue
        result.append({
            "id": f"lm{k:02d}", "from_name": names.keypoints, "to_name": names.image, "type": "keypointlabels",
            "original_width": w, "original_height": h, "image_rotation": 0, "score": float(lm["confidence"]),
            "value": {"x": px_to_percent(lm["x"], w), "y": px_to_percent(lm["y"], h), "width": POINT_SIZE,
                      "keypointlabels": [symbol]},
        })
    return {"data": {names.data_key: image_reference(entry["image"], document_root)},
            "predictions": [{"model_version": model_version,
                             "score": sum(scores) / len(scores) if scores else 0.0, "result": result}]}


def predictions_to_tasks(result: dict, document_root=None, names: LabelStudioNames | None = None) -> list[dict]:
    """A ``zoo predict`` result (``{"model", "predictions", ...}``) as Label Studio's task import JSON, in the
    project's ``names`` (default: the interface :func:`labeling_config` writes)."""
    version = _model_version(result.get("model") or {})
    return [prediction_task(entry, version, document_root, names) for entry in result["predictions"]]


# -- Label Studio's flat exports back into tasks ---------------------------------------------------------
def _keypoint_values(cell) -> list[dict] | None:
    """A JSON-MIN field (or CSV cell, JSON text) holding keypoint values, else None."""
    if isinstance(cell, str):
        text = cell.strip()
        if not (text.startswith("[") and "keypointlabels" in text):
            return None
        try:
            cell = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: a cell nested deeper than the parser goes
            return None
    if isinstance(cell, dict):
        cell = [cell]
    if isinstance(cell, list) and any(isinstance(v, dict) and "keypointlabels" in v for v in cell):
        return [v for v in cell if isinstance(v, dict) and "keypointlabels" in v]
    return None


def is_flat_record(item) -> bool:
    """A JSON-MIN/CSV row (task fields and result lists side by side), not a full task with ``data``."""
    return (isinstance(item, dict) and not isinstance(item.get("data"), dict)
            and "annotations" not in item and "completions" not in item)


def task_from_record(record: dict) -> dict:
    """A flat export row as a full task: its keypoint columns become one annotation, the rest its data."""
    data, results = {}, []
    for key, cell in record.items():
        values = _keypoint_values(cell)
        if values is not None:
            for v in values:
                point = {"type": "keypointlabels", "from_name": key, "value": v}
                for dim in ("original_width", "original_height"):
                    if dim in v:
                        point[dim] = v[dim]
                results.append(point)
        elif key not in _EXPORT_FIELDS:
            data[key] = cell
    task = {"data": data, "annotations": [{"result": results}] if results else []}
    if record.get("id") not in (None, ""):
        task["id"] = record["id"]
    return task


def read_csv_export(path: str | Path) -> list[dict]:
    """Label Studio's CSV or TSV export (one row per annotation, keypoints as JSON in the control's column) as
    tasks."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text), delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise AnnotationError(f"{path}: not a readable UTF-8 CSV ({exc})", reason="malformed annotation") from None
    return [task_from_record({k: v for k, v in row.items() if k is not None}) for row in rows]


def looks_like_csv_export(path: str | Path) -> bool:
    """Whether a CSV/TSV is a Label Studio export (a column of keypoint JSON), not a plain landmark table."""
    with Path(path).open("rb") as fh:
        return b"keypointlabels" in fh.read(1 << 16)
