"""Packing a sample into what mmengine's model interface takes: ``{'inputs', 'data_samples'}``."""
from __future__ import annotations

import numpy as np

from zoo.registry import TRANSFORMS
from zoo.structures import LandmarkSample

from .base import BaseTransform

_DATA_KEYS = ("keypoints", "keypoints_visible", "ori_keypoints", "ori_keypoints_visible")
_META_KEYS = ("img_path", "img_id", "ori_shape", "img_shape", "spacing", "landmark_set", "warp",
              "sample_idx", "task_id", "annotator", "decode_factor", "refine_img", "refine_warp",
              "patch_scale", "patch_context")
# the two-stage detector's training patches (``RefinePatches``), kept in their own dtypes
_PATCH_KEYS = {"patches": np.uint8, "patch_index": np.int64, "patch_keypoints": np.float32,
               "patch_visible": np.float32}


@TRANSFORMS.register_module()
class PackLandmarkInputs(BaseTransform):
    """-> ``{'inputs': uint8 tensor (C, H, W), 'data_samples': LandmarkSample}`` (numpy fields, float32).

    ``spacing`` is NaN when unknown; ``warp`` maps original px -> input px. ``ori_keypoints_visible`` is the
    labelled mask of the truth, which augmentation never changes (``keypoints_visible`` also drops points
    pushed out of the input).
    """

    def __init__(self, meta_keys=_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        import torch

        img = results["img"]
        if img.ndim == 2:
            img = img[:, :, None]
        channels = int(results.get("channels", img.shape[2]))
        if img.shape[2] == 1 and channels == 3:  # a gray source kept single-channel by LoadCephalogram
            img = np.repeat(img, 3, axis=2)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta["spacing"] = float("nan") if results.get("spacing") is None else float(results["spacing"])
        meta["warp"] = np.asarray(results.get("warp", np.eye(3)), np.float64)
        meta.setdefault("img_shape", tuple(img.shape[:2]))
        sample = LandmarkSample(metainfo=meta)
        for key in _DATA_KEYS:
            if results.get(key) is not None:
                sample.set_field(np.asarray(results[key], np.float32), key)
        for key, dtype in _PATCH_KEYS.items():
            if results.get(key) is not None:
                sample.set_field(np.asarray(results[key], dtype), key)
        return {"inputs": inputs, "data_samples": sample}
