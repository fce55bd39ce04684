"""CL-Detection 2023 (MICCAI challenge): 600 cephalograms from three centres and vendors, 38 landmarks, a pixel
size per image. Two layouts are read:

1. The challenge's release: ``train_stack.mha`` (every image zero-padded to 2400 x 2880 x 3 in one MetaImage
   stack) and ``train-gt.json``: ``{"points": [{"name": "1".."38", "point": [x, y, image], "scale": mm/px}]}``,
   where ``image`` counts the stack's images from 1. The stack is taken apart once, each image cropped back to
   its content (zero rows and columns at the bottom and right; coordinates do not move) and written as
   ``<extract_dir>/<image>.png`` (default: ``<stack>_images`` beside the stack); later runs read those files.
2. The per-image layout the challenge's baseline writes from it (``step1_preprocessing.py``): a CSV with the
   columns ``file, scale, p1x, p1y, ..., p38x, p38y`` and the images it names. A ``file`` that is not where the
   CSV says (an absolute path of the machine that wrote it) is looked for by name in ``img_dir`` (default: the
   CSV's folder, then its ``processed_images`` folder).

The landmarks are the set ``cldetection2023`` (:mod:`zoo.data.landmark_sets`): 1-19 the ISBI 2015 landmarks,
20-38 by number. ``scale`` is the image's mm per pixel.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from zoo.registry import DATASETS

from ..errors import AnnotationError, DataNotFoundError, how_to_fix_missing
from ..metaimage import crop_padding, read_stack
from ..paths import did_you_mean
from .base import LandmarkDataset

NUM_LANDMARKS = 38
LAYOUT = ("train_stack.mha + train-gt.json (the challenge's release), or a CSV 'file,scale,p1x,p1y,...,p38y' "
          "beside its images (the baseline's step1_preprocessing.py)")


def _number(value, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: {value!r} is not a number", reason="malformed annotation") from None
    return number


def read_gt_json(path) -> dict[int, dict]:
    """``{image (from 1): {"points": (38, 2) array, "labelled": (38,) bool, "scale": mm/px}}`` from a
    ``train-gt.json``; a point named outside 1-38, an image with two scales, or a point given twice is an error
    naming the entry."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise DataNotFoundError(f"{path}: CL-Detection annotation file not found", reason="missing data") from None
    except (ValueError, RecursionError) as exc:
        raise AnnotationError(f"{path}: not valid UTF-8 JSON ({exc})", reason="malformed annotation") from None
    points = doc.get("points") if isinstance(doc, dict) else None
    if not isinstance(points, list):
        raise AnnotationError(f"{path}: expected {{\"points\": [{{\"name\": \"1\", \"point\": [x, y, image], "
                              "\"scale\": 0.1}, ...]}", reason="malformed annotation")
    images: dict[int, dict] = {}
    for i, item in enumerate(points):
        where = f"{path}, points[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("point"), list) or len(item["point"]) != 3:
            raise AnnotationError(f"{where}: expected {{\"name\", \"point\": [x, y, image], \"scale\"}}",
                                  reason="malformed annotation")
        try:
            number = int(str(item.get("name")).strip())
        except ValueError:
            number = 0
        if not 1 <= number <= NUM_LANDMARKS:
            raise AnnotationError(f"{where}: landmark name {item.get('name')!r} is not 1-{NUM_LANDMARKS}",
                                  reason="unknown label")
        x, y = _number(item["point"][0], where), _number(item["point"][1], where)
        image = int(_number(item["point"][2], where))
        scale = _number(item.get("scale"), where)
        rec = images.setdefault(image, {"points": np.zeros((NUM_LANDMARKS, 2)), "labelled":
                                        np.zeros(NUM_LANDMARKS, bool), "scale": scale, "where": where})
        if rec["labelled"][number - 1]:
            raise AnnotationError(f"{where}: landmark {number} of image {image} is given twice",
                                  reason="duplicate label")
        if abs(rec["scale"] - scale) > 1e-9:
            raise AnnotationError(f"{where}: image {image} has two pixel sizes ({rec['scale']:g} and {scale:g})",
                                  reason="bad spacing")
        rec["points"][number - 1] = (x, y)
        rec["labelled"][number - 1] = True
    return images


@DATASETS.register_module()
class CLDetection2023Dataset(LandmarkDataset):
    """CL-Detection 2023: 38 landmarks, a pixel size per image, in either layout (see the module).

    Args:
        ann_file: ``train-gt.json`` (with ``stack``) or the baseline's CSV, relative to ``data_root``.
        stack: the MetaImage stack the JSON's image numbers count in (default ``train_stack.mha``).
        extract_dir: where the stack's images are written once (default ``<stack stem>_images`` beside it).
        img_dir: for the CSV layout, where images are looked for by name when the CSV's path does not exist.
        landmark_set: default ``'cldetection2023'``; ``'isbi2015'`` reads the 19 landmarks the two share.
    """

    NATIVE_SET = "cldetection2023"
    DEFAULT_SET = "cldetection2023"

    def __init__(self, data_root="", ann_file: str = "train-gt.json", stack: str = "train_stack.mha",
                 extract_dir: str | None = None, img_dir: str | None = None, **kwargs):
        self.ann_file_arg, self.stack_arg = ann_file, stack
        self.extract_dir_arg, self.img_dir_arg = extract_dir, img_dir
        super().__init__(data_root=data_root, **kwargs)

    def _missing(self, what: str) -> DataNotFoundError:
        return DataNotFoundError(f"CL-Detection 2023 data not found: {what}. Expected under data_root={self.root}: "
                                 f"{LAYOUT}. " + how_to_fix_missing(), reason="missing data")

    def check_layout(self) -> None:
        if not self.root.is_dir():
            raise self._missing(f"{self.root} does not exist{did_you_mean(self.root)}")
        self.ann_path = self.root / self.ann_file_arg
        if not self.ann_path.is_file():
            raise self._missing(f"no {self.ann_path}{did_you_mean(self.ann_path)}")
        self.csv_layout = self.ann_path.suffix.lower() == ".csv"
        if self.csv_layout:
            self.image_dirs = ([self.root / self.img_dir_arg] if self.img_dir_arg else
                               [self.ann_path.parent, self.ann_path.parent / "processed_images"])
            return
        self.stack_path = self.root / self.stack_arg
        # relative to data_root (an absolute extract_dir stays as it is)
        self.extract_dir = self.root / (self.extract_dir_arg or f"{Path(self.stack_arg).stem}_images")
        if not self.stack_path.is_file() and not self.extract_dir.is_dir():
            raise self._missing(f"no image stack {self.stack_path}{did_you_mean(self.stack_path)} (nor its images "
                                f"taken out before, in {self.extract_dir})")

    # -- the challenge's release: the stack, taken apart once --------------------------------------------------
    def extract(self, wanted) -> None:
        """Write each image of the stack that ``wanted`` (numbers from 1) names and ``extract_dir`` lacks, as PNG
        (one gray channel when the three are equal, as X-rays are); each file appears whole or not at all."""
        import cv2

        missing = {n for n in wanted if not (self.extract_dir / f"{n}.png").is_file()}
        if not missing:
            return
        if not self.stack_path.is_file():
            raise self._missing(f"images {sorted(missing)[:5]} are not in {self.extract_dir} and the stack "
                                f"{self.stack_path} is gone")
        stack = read_stack(self.stack_path)
        if max(missing) > stack.count:
            raise AnnotationError(f"{self.ann_path}: image {max(missing)} is annotated but {self.stack_path} holds "
                                  f"{stack.count} images", reason="missing image")
        try:
            self.extract_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataNotFoundError(f"cannot write the stack's images to {self.extract_dir} ({exc.strerror}): give "
                                    "extract_dir= a writable folder", reason="missing data") from None
        for index, image in stack.images():
            number = index + 1
            if number not in missing:
                continue
            image = crop_padding(image)
            if image.ndim == 3 and image.shape[2] == 3 and (image == image[:, :, :1]).all():
                image = image[:, :, 0]
            elif image.ndim == 3 and image.shape[2] == 3:
                image = image[:, :, ::-1]  # RGB in the stack, BGR for OpenCV
            ok, buf = cv2.imencode(".png", np.ascontiguousarray(image))
            if not ok:
                raise AnnotationError(f"{self.stack_path}: image {number} could not be encoded as PNG",
                                      reason="unreadable image")
            target = self.extract_dir / f"{number}.png"
            part = target.with_name(f".{target.name}.part")
            part.write_bytes(buf.tobytes())
            os.replace(part, target)
            missing.discard(number)
            if not missing:
                break

    def _iter_stack(self):
        images = read_gt_json(self.ann_path)
        self.extract(images)
        for number in sorted(images):
            rec = images[number]

            def read(number=number, rec=rec):
                return {"img_path": self.extract_dir / f"{number}.png", "keypoints": rec["points"],
                        "labelled": rec["labelled"], "spacing": rec["scale"], "set": self.NATIVE_SET,
                        "extra": {"stack_index": number}}

            yield f"{self.ann_path}, image {number}", read

    # -- the baseline's CSV -----------------------------------------------------------------------------------
    def _image(self, written: str) -> Path:
        path = Path(written)
        if not path.is_absolute():
            path = self.ann_path.parent / path
        if path.is_file():
            return path
        name = Path(written.replace("\\", "/")).name
        for folder in self.image_dirs:
            if (folder / name).is_file():
                return folder / name
        return path  # reported missing by the base, with this path

    def _iter_csv(self):
        text = self.ann_path.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return
        header = [c.strip().lower() for c in rows[0]]
        expected = ["file", "scale"] + [f"p{i}{a}" for i in range(1, NUM_LANDMARKS + 1) for a in "xy"]
        if header[:len(expected)] != expected:
            raise AnnotationError(f"{self.ann_path}: the header must be 'file,scale,p1x,p1y,...,p38x,p38y' (the "
                                  f"baseline's CSV), got {','.join(rows[0][:5])},...", reason="malformed annotation")
        for lineno, row in enumerate(rows[1:], 2):
            if not any(cell.strip() for cell in row):
                continue
            where = f"{self.ann_path}:{lineno}"

            def read(row=row, where=where):
                if len(row) < len(expected):
                    raise AnnotationError(f"{where}: {len(row)} columns, expected {len(expected)}",
                                          reason="wrong landmark count")
                values = [_number(v, where) if v.strip() else np.nan for v in row[2:len(expected)]]
                pts = np.asarray(values, np.float64).reshape(NUM_LANDMARKS, 2)
                labelled = np.isfinite(pts).all(axis=1)
                return {"img_path": self._image(row[0].strip()), "keypoints": np.nan_to_num(pts),
                        "labelled": labelled, "spacing": _number(row[1], where), "set": self.NATIVE_SET}

            yield where, read

    def iter_records(self):
        yield from (self._iter_csv() if self.csv_layout else self._iter_stack())
