"""COCO keypoint files, the format CVAT, MMPose and Ultralytics exchange: read for training, written by
``zoo predict --format coco``.

One JSON file: ``images`` (``id``, ``file_name``, ``width``, ``height``), ``annotations`` (``image_id``,
``category_id``, ``keypoints`` as ``[x1, y1, v1, x2, y2, v2, ...]``, ``num_keypoints``, ``bbox``) and
``categories`` (``keypoints``: the names in order, ``skeleton``). Visibility ``v`` is 0 for a landmark not
labelled (x = y = 0), 1 labelled but not visible, 2 labelled and visible; the zoo reads 1 and 2 as labelled.

Coordinates are taken as they are written, in the image's pixels, as MMPose's cephalometric converters and
CVAT's point exports write them; the zoo puts integer values at pixel centres (:mod:`zoo.structures`), so a
file written by ``zoo predict --format coco`` reads back to the same numbers. A per-image pixel size travels as
the image's ``spacing`` (mm per pixel; MMPose's CL-Detection configs use that key), ``mm_per_pixel`` is read too.
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import AnnotationError

#: the one category a cephalogram's keypoints are written under
CATEGORY = "cephalogram"
#: the per-image pixel size keys read, in order
SPACING_KEYS = ("spacing", "mm_per_pixel", "pixel_spacing")


def predictions_to_coco(result: dict) -> dict:
    """A predictions file (``zoo predict``'s result) as COCO keypoints: one image and one annotation per entry,
    every landmark labelled and visible (``v`` = 2), the model's confidences as MMPose's ``keypoint_scores``
    and their mean as ``score``; the image's pixel size, when known, as ``spacing``."""
    entries = result.get("predictions") or []
    symbols: list[str] = []
    for entry in entries:
        for symbol in entry["landmarks"]:
            if symbol not in symbols:
                symbols.append(symbol)
    images, annotations = [], []
    for index, entry in enumerate(entries, 1):
        image = {"id": index, "file_name": entry["image"], "width": entry["width"], "height": entry["height"]}
        if entry.get("mm_per_pixel"):
            image["spacing"] = entry["mm_per_pixel"]
            image["spacing_source"] = entry.get("mm_per_pixel_source")
        if entry.get("dicom"):
            image["sop_instance_uid"] = entry["dicom"].get("sop_instance_uid")
            image["study_instance_uid"] = entry["dicom"].get("study_instance_uid")
        images.append(image)
        keypoints, scores, xs, ys = [], [], [], []
        for symbol in symbols:
            lm = entry["landmarks"].get(symbol)
            if lm is None:
                keypoints += [0.0, 0.0, 0]
                scores.append(0.0)
                continue
            keypoints += [float(lm["x"]), float(lm["y"]), 2]
            scores.append(float(lm.get("confidence", 1.0)))
            xs.append(float(lm["x"]))
            ys.append(float(lm["y"]))
        x0, y0 = (min(xs), min(ys)) if xs else (0.0, 0.0)
        bbox = [x0, y0, (max(xs) - x0) if xs else 0.0, (max(ys) - y0) if ys else 0.0]
        annotations.append({"id": index, "image_id": index, "category_id": 1, "keypoints": keypoints,
                            "num_keypoints": len(xs), "bbox": bbox, "area": bbox[2] * bbox[3], "iscrowd": 0,
                            "score": sum(scores) / len(scores) if scores else 0.0, "keypoint_scores": scores})
    landmark_set = (entries[0].get("landmark_set") if entries else None) or (result.get("model") or {}).get(
        "landmark_set")
    return {"info": {"description": "ceph-zoo predictions", "landmark_set": landmark_set},
            "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": CATEGORY, "supercategory": "cephalogram", "keypoints": symbols,
                            "skeleton": []}]}


def _fail(path, what: str) -> AnnotationError:
    return AnnotationError(f"{path}: {what}. A COCO keypoint file holds 'images' (id, file_name, width, height), "
                           "'annotations' (image_id, category_id, keypoints [x, y, v]*K) and 'categories' "
                           "(keypoints: the names)", reason="malformed annotation")


def read_coco(path, category=None) -> dict:
    """A COCO keypoint file as ``{"names": [...], "samples": [{"file_name", "width", "height", "spacing",
    "keypoints": [(x, y, v)]*K, "source"}]}``, checked: every annotation names an image of the file, its
    keypoints are K triples of numbers with ``v`` in 0, 1, 2, and an image has at most one annotation of the
    category (a cephalogram shows one patient). ``category``: the category's id or name when there are several."""
    return _parse(path, _load(path), category)


def _load(path):
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise AnnotationError(f"{path}: COCO keypoint file not found", reason="missing annotation") from None
    except (ValueError, RecursionError) as exc:
        raise AnnotationError(f"{path}: not valid UTF-8 JSON ({exc})", reason="malformed annotation") from None


def _category(path, doc: dict, category) -> dict:
    cats = [c for c in doc.get("categories") or [] if isinstance(c, dict) and isinstance(c.get("keypoints"), list)]
    if category is not None:
        cats = [c for c in cats if category in (c.get("id"), c.get("name"))]
    if len(cats) == 1:
        return cats[0]
    names = ", ".join(repr(c.get("name")) for c in doc.get("categories") or [] if isinstance(c, dict)) or "none"
    if not cats:
        wanted = f" named {category!r}" if category is not None else ""
        raise _fail(path, f"no category with 'keypoints'{wanted} (categories: {names})")
    raise _fail(path, f"{len(cats)} keypoint categories ({names}); give category= the one to read")


def _parse(path, doc, category=None) -> dict:
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise _fail(path, "no 'images' and 'annotations' lists")
    cat = _category(path, doc, category)
    names = [str(n) for n in cat["keypoints"]]
    images = {}
    for i, im in enumerate(doc["images"]):
        if not isinstance(im, dict) or "id" not in im or not isinstance(im.get("file_name"), str):
            raise _fail(path, f"images[{i}] has no id and file_name")
        images[im["id"]] = im
    seen: dict = {}
    samples = []
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or ann.get("category_id", cat.get("id")) != cat.get("id"):
            continue
        where = f"{path}, annotations[{i}]"
        image = images.get(ann.get("image_id"))
        if image is None:
            raise AnnotationError(f"{where}: image_id {ann.get('image_id')!r} is not in 'images'",
                                  reason="malformed annotation")
        if ann["image_id"] in seen:
            raise AnnotationError(f"{where}: a second annotation for {image['file_name']} (the first is "
                                  f"annotations[{seen[ann['image_id']]}]); a cephalogram has one patient",
                                  reason="duplicate annotation")
        seen[ann["image_id"]] = i
        flat = ann.get("keypoints")
        if not isinstance(flat, list) or len(flat) != 3 * len(names):
            raise AnnotationError(f"{where}: 'keypoints' must be {len(names)} triples [x, y, v] "
                                  f"({3 * len(names)} numbers), got {len(flat) if isinstance(flat, list) else flat!r}",
                                  reason="wrong landmark count")
        triples = []
        for k in range(len(names)):
            x, y, v = flat[3 * k:3 * k + 3]
            numbers = all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in (x, y, v))
            if not numbers or v not in (0, 1, 2):
                raise AnnotationError(f"{where}: keypoint {names[k]!r} is {[x, y, v]!r}; expected numbers x, y and "
                                      "v in 0, 1, 2", reason="malformed annotation")
            triples.append((float(x), float(y), int(v)))
        spacing = next((image[k] for k in SPACING_KEYS if image.get(k) is not None), None)
        samples.append({"file_name": image["file_name"], "width": image.get("width"), "height": image.get("height"),
                        "spacing": spacing, "keypoints": triples, "source": where})
    return {"names": names, "samples": samples}
