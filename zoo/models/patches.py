"""Native-resolution patches around landmarks: the geometry the two-stage detector crops with.

Training (``RefinePatches``, around the jittered truth), testing (``TwoStageDetector.predict``, around
the global stage's estimate) and serving (``Predictor``, around the same estimate from an exported
graph) all cut their patches with :func:`crop_patches`, so the three cannot disagree about where a
patch pixel lies in the original image.

A patch is ``size x size`` pixels centred on a point of the original image, sampling it every
``scale`` original pixels (``scale=2`` on a 0.1 mm/px cephalogram: 0.2 mm per patch pixel), optionally
rotated by ``angle`` degrees. Pixel centres are at integers everywhere (``zoo.structures``), so patch
pixel ``(size - 1) / 2`` is the centre point exactly.
"""
from __future__ import annotations

import math

import numpy as np

from zoo.structures import apply_warp


def patch_warp(centre, size: int, scale: float, angle: float = 0.0) -> np.ndarray:
    """3x3 homogeneous affine: original px -> patch px, for a patch centred on ``centre`` (x, y)."""
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    half = (size - 1) / 2.0
    rot = np.array([[c, s], [-s, c]], np.float64) / float(scale)  # R(-angle) / scale
    m = np.eye(3)
    m[:2, :2] = rot
    m[:2, 2] = half - rot @ np.asarray(centre, np.float64)
    return m


def _reduce(img: np.ndarray, src_warp: np.ndarray, step: float):
    """Area-downsample ``img`` by the integer part of ``step`` (source px per patch px) before sampling,
    so a coarse patch averages the pixels it covers instead of aliasing them; returns the image and its
    original->image warp."""
    import cv2

    factor = int(math.floor(step + 1e-6))
    if factor < 2:
        return img, src_warp
    h, w = img.shape[:2]
    nw, nh = max(1, round(w / factor)), max(1, round(h / factor))
    small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
    if small.ndim == 2 and img.ndim == 3:
        small = small[:, :, None]
    sx, sy = nw / w, nh / h
    down = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]], np.float64)
    return small, down @ src_warp


def crop_patches(img: np.ndarray, centres: np.ndarray, size: int, scale: float, src_warp=None,
                 angles=None, scales=None, pad_value: float = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cut one patch per centre from ``img``.

    Args:
        img: uint8 (H, W) or (H, W, C) image; ``src_warp`` maps original px -> its px (identity: it is
            the original).
        centres: (M, 2) patch centres in original px.
        size, scale: patch side in px and original px per patch px.
        angles, scales: optional per-patch rotation (deg) and scale multipliers (augmentation).

    Returns:
        ``(patches (M, size, size, C) uint8, warps (M, 3, 3) original px -> patch px)``.
    """
    import cv2

    src_warp = np.eye(3) if src_warp is None else np.asarray(src_warp, np.float64)
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    m = len(centres)
    angles = np.zeros(m) if angles is None else np.asarray(angles, np.float64)
    scales = np.ones(m) if scales is None else np.asarray(scales, np.float64)
    src_per_orig = math.sqrt(abs(np.linalg.det(src_warp[:2, :2])))
    base, base_warp = _reduce(img, src_warp, scale * float(scales.min(initial=1.0)) * src_per_orig)
    if base.ndim == 2:
        base = base[:, :, None]
    channels = base.shape[2]
    patches = np.empty((m, size, size, channels), np.uint8)
    warps = np.empty((m, 3, 3), np.float64)
    inv_base = np.linalg.inv(base_warp)
    for i in range(m):
        warps[i] = patch_warp(centres[i], size, scale * scales[i], angles[i])
        to_patch = warps[i] @ inv_base  # base px -> patch px
        out = cv2.warpAffine(base, to_patch[:2], (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=pad_value)
        patches[i] = out.reshape(size, size, channels)
    return patches, warps


def patch_to_original(points: np.ndarray, warps: np.ndarray) -> np.ndarray:
    """(M, 2) patch px, one point per patch, -> original px through each patch's own warp."""
    return np.stack([apply_warp(p[None], np.linalg.inv(w))[0] for p, w in zip(points, warps)])
