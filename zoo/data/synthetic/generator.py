"""Synthetic lateral cephalograms with 31 landmarks, written in the Aariz + Label Studio layout.

Deterministic: sample ``i`` of seed ``s`` is drawn from ``SeedSequence([s, i])``, so it is the same
whatever ``n`` is. Files written (``OUT`` = the output folder)::

    OUT/cephalogram_machine_mappings.csv             pixel_size per image (starts with a BOM, as Aariz's may)
    OUT/synthetic_meta.json                          seed, size, ruler_mm, splits, generator version
    OUT/<split>/Cephalograms/synth_0000.jpg
    OUT/<split>/Annotations/Cephalometric Landmarks/Senior Orthodontists/synth_0000.json   (Aariz, 29)
    OUT/<split>/Annotations/Cephalometric Landmarks/Senior Orthodontists/project-1-at-synthetic.json
                                                     (Label Studio export: p1, p2 in percent)

``Ceph31Dataset(OUT, split=...)`` reads it back (31 landmarks, per-image spacing).
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .anatomy import LANDMARKS_29, sample_anatomy
from .render import Film, draw_ruler, draw_skull, expose

GENERATOR_VERSION = 1
DEFAULT_SIZE = (512, 640)  # (W, H): portrait like real cephalograms; ~0.4 mm/px
FIELD_OF_VIEW_MM = 205.0  # width of the image in mm at the nominal magnification
RULER_MM = 30.0  # distance between the ruler's p1 and p2 marks
SPLITS = (("train", 0.8), ("valid", 0.1), ("test", 0.1))
#: imaging devices: name -> magnification factor on the nominal pixel size
MACHINES = (("synth-A", 0.96), ("synth-B", 1.0), ("synth-C", 1.05))
SYMBOLS_31 = LANDMARKS_29 + ["p1", "p2"]


@dataclass
class SyntheticSample:
    image: np.ndarray  # (H, W) uint8
    keypoints: np.ndarray  # (31, 2) px, ceph31 order
    spacing: float  # mm per pixel
    machine: str


def make_sample(seed: int, index: int, size=DEFAULT_SIZE, ruler_mm: float = RULER_MM) -> SyntheticSample:
    """Draw sample ``index`` of ``seed`` at ``size=(W, H)``; pure function of its arguments."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))
    w, h = int(size[0]), int(size[1])
    machine, factor = MACHINES[int(rng.integers(len(MACHINES)))]
    spacing = FIELD_OF_VIEW_MM / w * factor
    pts = sample_anatomy(rng)
    tilt = math.radians(rng.normal(0, 1.5))
    p1 = np.array([112.0 + rng.uniform(-3, 3), -64.0 + rng.uniform(-5, 5)])
    p2 = p1 + ruler_mm * np.array([math.sin(tilt), math.cos(tilt)])
    pts["p1"], pts["p2"] = p1, p2
    # where sella lands: about 41% across and 39% down, jittered; redrawn until every landmark fits
    for _ in range(50):
        s_px = np.array([w * rng.uniform(0.38, 0.45), h * rng.uniform(0.36, 0.42)])
        origin = np.asarray(pts["S"]) - s_px * spacing
        kpts = np.array([(np.asarray(pts[k]) - origin) / spacing for k in SYMBOLS_31])
        margin = 3.0
        if (kpts[:, 0].min() > margin and kpts[:, 1].min() > margin and kpts[:, 0].max() < w - 1 - margin
                and kpts[:, 1].max() < h - 1 - margin):
            break
    else:  # pragma: no cover - the anatomy spans ~60% of the field
        raise RuntimeError(f"synthetic sample {index}: landmarks do not fit a {w}x{h} image")
    film = Film((h, w), origin, spacing)
    draw_skull(film, pts, rng)
    draw_ruler(film, p1, p2, ruler_mm)
    return SyntheticSample(expose(film.att, rng), kpts.astype(np.float64), float(spacing), machine)


def _upload_name(seed: int, name: str) -> str:
    """A Label Studio style upload path: ``/data/upload/1/<8 hex>-<name>`` (readers strip the hash)."""
    digest = hashlib.sha1(f"{seed}/{name}".encode()).hexdigest()[:8]
    return f"/data/upload/1/{digest}-{name}"


def _aariz_json(name: str, split: str, kpts: np.ndarray) -> dict:
    from ..landmark_sets import get_landmark_set

    aariz = get_landmark_set("aariz")
    landmarks = [{"landmark_id": i + 1, "title": aariz.names[i], "symbol": sym,
                  "value": {"x": round(float(kpts[i, 0]), 4), "y": round(float(kpts[i, 1]), 4)}}
                 for i, sym in enumerate(LANDMARKS_29)]
    return {"ceph_id": Path(name).stem, "landmarks": landmarks, "dataset_name": "ceph-zoo synthetic",
            "dataset_split": split}


def _ls_task(task_id: int, seed: int, name: str, kpts: np.ndarray, w: int, h: int) -> dict:
    from ..labelstudio import px_to_percent

    results = []
    for j, label in enumerate(("p1", "p2")):
        x, y = kpts[len(LANDMARKS_29) + j]
        results.append({"id": f"{task_id}-{label}", "from_name": "kp", "to_name": "image", "type": "keypointlabels",
                        "original_width": w, "original_height": h, "image_rotation": 0,
                        "value": {"x": px_to_percent(x, w), "y": px_to_percent(y, h), "width": 0.5,
                                  "keypointlabels": [label]}})
    return {"id": task_id, "data": {"image": _upload_name(seed, name)},
            "annotations": [{"id": task_id, "was_cancelled": False, "result": results}]}


def split_of(index: int, n: int) -> str:
    """Contiguous splits by index: the first 80% train, then 10% valid, 10% test (at least one each)."""
    n_valid = max(1, round(n * SPLITS[1][1])) if n >= 3 else 0
    n_test = max(1, round(n * SPLITS[2][1])) if n >= 3 else 0
    n_train = n - n_valid - n_test
    return "train" if index < n_train else ("valid" if index < n_train + n_valid else "test")


def generate(out_dir, n: int = 200, seed: int = 0, size=DEFAULT_SIZE, ruler_mm: float = RULER_MM,
             image_format: str = "jpg", jpeg_quality: int = 92, overwrite: bool = False) -> Path:
    """Write ``n`` synthetic cephalograms in the Aariz + Label Studio layout; returns the folder.

    ``size`` is ``(W, H)`` of each image. PNG (``image_format='png'``) is lossless; JPEG is smaller and
    what real archives hold.
    """
    import cv2

    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            from ..errors import DataError

            raise DataError(f"{out} is not empty; choose another folder or pass overwrite=True (--overwrite)")
        shutil.rmtree(out)
    if n < 1:
        raise ValueError("n must be at least 1")
    ext = {"jpg": ".jpg", "jpeg": ".jpg", "png": ".png"}[image_format.lower()]
    w, h = int(size[0]), int(size[1])
    tasks: dict[str, list] = {}
    rows = []
    for i in range(n):
        split = split_of(i, n)
        sample = make_sample(seed, i, (w, h), ruler_mm)
        name = f"synth_{i:04d}{ext}"
        img_dir = out / split / "Cephalograms"
        ann_dir = out / split / "Annotations" / "Cephalometric Landmarks" / "Senior Orthodontists"
        img_dir.mkdir(parents=True, exist_ok=True)
        ann_dir.mkdir(parents=True, exist_ok=True)
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext == ".jpg" else []
        ok, buf = cv2.imencode(ext, sample.image, params)
        if not ok:  # pragma: no cover
            raise RuntimeError(f"could not encode {name}")
        (img_dir / name).write_bytes(buf.tobytes())
        (ann_dir / f"synth_{i:04d}.json").write_text(json.dumps(_aariz_json(name, split, sample.keypoints), indent=1))
        tasks.setdefault(split, []).append(_ls_task(i + 1, seed, name, sample.keypoints, w, h))
        rows.append((f"synth_{i:04d}", sample.machine, repr(sample.spacing), ext[1:], "synthetic"))
    for split, split_tasks in tasks.items():
        ann_dir = out / split / "Annotations" / "Cephalometric Landmarks" / "Senior Orthodontists"
        (ann_dir / "project-1-at-synthetic.json").write_text(json.dumps(split_tasks, indent=1))
    with (out / "cephalogram_machine_mappings.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cephalogram_id", "machine", "pixel_size", "image_format", "mode"])
        writer.writerows(rows)
    meta = {"generator": "zoo.data.synthetic", "version": GENERATOR_VERSION, "n": n, "seed": seed,
            "size": [w, h], "ruler_mm": ruler_mm, "landmark_set": "ceph31",
            "splits": {s: len(t) for s, t in tasks.items()}, "image_format": ext[1:]}
    (out / "synthetic_meta.json").write_text(json.dumps(meta, indent=1))
    return out
