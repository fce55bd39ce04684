"""Patches for the two-stage detector's refine stage, cut from the full-resolution image.

It must run right after ``LoadCephalogram`` (decoding at full resolution, no ``target_size``) and before
the global stage's resize and augmentation, which replace ``img``. In training it cuts patches around the
*jittered* truth (the refine stage learns to correct coarse errors of that size); with ``test_mode=True``
it only keeps the full-resolution image for ``TwoStageDetector.predict``, which crops around the global
stage's estimates itself.
"""
from __future__ import annotations

import numpy as np

from zoo.data.patches import crop_patches
from zoo.registry import TRANSFORMS
from zoo.structures import apply_warp, to_original

from .base import BaseTransform, as_range


@TRANSFORMS.register_module()
class RefinePatches(BaseTransform):
    """Cut ``num_patches`` patches per image (all landmarks when None) around the jittered truth.

    Args:
        patch_size, patch_scale: patch side in px and original px per patch px (the model's values).
        jitter: standard deviation of the centre's offset from the truth, in original px, per axis; about
            the global stage's typical error.
        max_shift: the offset is clipped to this fraction of the patch's half-width, so the landmark
            stays inside its patch.
        rotate, scale: per-patch rotation (deg, +-) and scale-multiplier range (augmentation).
        brightness, contrast: per-patch photometric jitter (fractions of the range / of the contrast).
        num_patches: landmarks sampled per image and iteration (a subset keeps CPU batches small).
        context: sampling-step multipliers of the patches' context channels (the model's ``patch_context``;
            ``zoo.data.patches``).
        test_mode: keep the full-resolution image (``refine_img``, ``refine_warp``) instead of cutting.

    Adds ``patches`` (M, P, P, c) uint8, ``patch_index`` (M,), ``patch_keypoints`` (M, K, 2) every
    landmark in each patch's px, ``patch_visible`` (M, K), and the ``patch_scale`` and ``patch_context`` it
    cut with, which ``TwoStageDetector`` checks against its own.
    """

    def __init__(self, patch_size: int = 96, patch_scale: float = 2.0, jitter: float = 20.0,
                 max_shift: float = 0.6, rotate: float = 0.0, scale=(1.0, 1.0), brightness: float = 0.0,
                 contrast: float = 0.0, num_patches: int | None = None, context=(), test_mode: bool = False):
        self.patch_size, self.patch_scale = int(patch_size), float(patch_scale)
        self.jitter, self.max_shift = float(jitter), float(max_shift)
        self.rotate, self.scale = float(rotate), as_range(scale)
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.num_patches = None if num_patches is None else int(num_patches)
        self.context = tuple(float(c) for c in context)
        self.test_mode = bool(test_mode)

    def transform(self, results: dict) -> dict:
        warp = np.asarray(results.get("warp", np.eye(3)), np.float64)
        if self.test_mode:
            results["refine_img"] = results["img"]
            results["refine_warp"] = warp.copy()
            return results
        truth = results.get("ori_keypoints")
        if truth is None:
            truth = to_original(results["keypoints"], warp)
        truth = np.asarray(truth, np.float64)
        labelled = np.asarray(results.get("ori_keypoints_visible", results.get("keypoints_visible",
                                                                               np.ones(len(truth)))), np.float32)
        candidates = np.flatnonzero(labelled > 0)
        if self.num_patches is not None and len(candidates) > self.num_patches:
            candidates = np.sort(np.random.choice(candidates, self.num_patches, replace=False))
        m = len(candidates)
        limit = self.max_shift * (self.patch_size - 1) / 2 * self.patch_scale
        shift = np.clip(np.random.normal(0.0, self.jitter, (m, 2)), -limit, limit) if self.jitter > 0 \
            else np.zeros((m, 2))
        angles = np.random.uniform(-self.rotate, self.rotate, m) if self.rotate > 0 else None
        scales = np.random.uniform(*self.scale, m) if self.scale[1] > self.scale[0] else None
        patches, warps = crop_patches(results["img"], truth[candidates] + shift, self.patch_size,
                                      self.patch_scale, src_warp=warp, angles=angles, scales=scales,
                                      context=self.context)
        if self.brightness > 0 or self.contrast > 0:
            patches = self._photometric(patches)
        results["patches"] = patches
        # how the patches were cut, which the model checks against how it will cut them when serving
        results["patch_scale"], results["patch_context"] = self.patch_scale, self.context
        results["patch_index"] = candidates.astype(np.int64)
        results["patch_keypoints"] = np.stack([apply_warp(truth, w) for w in warps]).astype(np.float32) \
            if m else np.zeros((0, len(truth), 2), np.float32)
        results["patch_visible"] = np.repeat(labelled[None], m, axis=0).astype(np.float32)
        return results

    def _photometric(self, patches: np.ndarray) -> np.ndarray:
        m = len(patches)
        gain = 1.0 + np.random.uniform(-self.contrast, self.contrast, (m, 1, 1, 1))
        offset = np.random.uniform(-self.brightness, self.brightness, (m, 1, 1, 1)) * 255.0
        x = patches.astype(np.float32)
        mean = x.mean(axis=(1, 2, 3), keepdims=True)
        return np.clip((x - mean) * gain + mean + offset, 0, 255).astype(np.uint8)
