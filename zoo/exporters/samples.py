"""Real images for the self-check and for int8 calibration: the model's own dataset, or the user's files.

A model is checked (and calibrated) on the kind of image it will see. The dataset comes from the
checkpoint's own config (its test, else val, dataloader), read without its pipeline: only the image
paths, the truth in original pixels and the pixel spacing are needed here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ExportError


@dataclass
class CheckImage:
    """One image; ``keypoints``/``visible`` (original px) and ``spacing`` (mm/px) when the data has them."""

    path: Path
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None
    spacing: float | None = None


def _dataset_cfg(cfg):
    for key in ("test_dataloader", "val_dataloader"):
        loader = cfg.get(key)
        if loader and loader.get("dataset"):
            return key, loader["dataset"]
    return None, None


def dataset_images(cfg) -> tuple[list[CheckImage], str]:
    """Images with truth from the config's test (else val) dataset; ``([], reason)`` when it is absent."""
    from zoo.data.errors import DataError
    from zoo.registry import DATASETS

    key, ds_cfg = _dataset_cfg(cfg)
    if ds_cfg is None:
        return [], "the config has no test or val dataloader"
    ds_cfg = dict(ds_cfg)
    ds_cfg.pop("indices", None)  # the whole split: check and calibration take their own slices
    ds_cfg.update(pipeline=[], lazy_init=False)
    try:
        dataset = DATASETS.build(ds_cfg)
    except (DataError, FileNotFoundError) as exc:
        return [], f"{key}.dataset is unavailable ({str(exc).splitlines()[0]})"
    out = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        out.append(CheckImage(Path(info["img_path"]), np.asarray(info["ori_keypoints"], np.float64),
                              np.asarray(info["ori_keypoints_visible"], bool), info.get("spacing")))
    if not out:
        return [], f"{key}.dataset is empty"
    return out, f"{key}.dataset ({type(dataset).__name__} at {dataset.root}, {len(out)} images)"


def user_images(paths) -> list[CheckImage]:
    """The user's own images (no truth): files, or folders of images."""
    from zoo.data.imageio import find_images

    out = []
    for p in paths or ():
        p = Path(p)
        if p.is_dir():
            out += [CheckImage(f) for f in find_images(p)]
        elif p.is_file():
            out.append(CheckImage(p))
        else:
            raise ExportError(f"image not found: {p}")
    return out


def split(images: list[CheckImage], n_check: int, n_calib: int) -> tuple[list[CheckImage], list[CheckImage]]:
    """First ``n_check`` for the self-check; calibration from the images after them (all of them when few)."""
    check = images[:n_check]
    rest = images[n_check:n_check + n_calib]
    calib = rest if len(rest) >= min(n_calib, 8) else images[:n_calib]
    return check, calib
