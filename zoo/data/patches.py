"""Native-resolution patches around landmarks: the geometry the two-stage detector crops with.

Training (``RefinePatches``, around the jittered truth), testing (``TwoStageDetector.predict``, around
the global stage's estimate) and serving (``Predictor``, around the same estimate from an exported
graph) all cut their patches with :func:`crop_patches`, so the three cannot disagree about where a
patch pixel lies in the original image. It lives in ``zoo.data`` because the data layer's transform uses it
and the data layer imports no model code; ``zoo.models.patches`` re-exports it for the detectors.

A patch is ``size x size`` pixels centred on a point of the original image, sampling it every
``scale`` original pixels (``scale=2`` on a 0.1 mm/px cephalogram: 0.2 mm per patch pixel), optionally
rotated by ``angle`` degrees. Pixel centres are at integers everywhere (``zoo.structures``), so patch
pixel ``(size - 1) / 2`` is the centre point exactly.

Context channels (``context``): a patch fine enough to place a landmark to a fraction of a millimetre is
too small to tell which of two similar contours it sits on (gonion on a doubled mandibular border, porion
beside the ear rod's ring). With ``context=(2, 4)`` the patch's channels are the gray image sampled at
``scale``, ``2 * scale`` and ``4 * scale`` around the same centre: the same tensor shape as a 3-channel
patch, so the refine network's cost does not change, but it sees 4 times the window at the coarsest level.
Every channel shares the fine level's warp (the same centre and turn), so the landmark's patch position,
and the heatmap it is read from, are the fine level's. Context is off by default: trained on ISBI 2015
within a short CPU budget, it did not place those landmarks better.
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


def _block_grid(step: float) -> int:
    """Source pixels per side of the averaging block for a patch sampling every ``step`` source px."""
    return max(1, int(math.floor(step + 1e-6)))


def _source_region(to_source: np.ndarray, size: int, block: int, shape) -> tuple[int, int, int, int]:
    """The box (x0, y0, x1, y1), in whole blocks, of the source pixels a patch's bilinear samples read,
    clipped to the image's whole blocks (an image edge narrower than one block is left out)."""
    edge = np.array([[-1.0, -1.0], [size, -1.0], [-1.0, size], [size, size]])  # one px margin: bilinear
    corners = apply_warp(edge, to_source)
    x0, y0 = np.floor(corners.min(axis=0) / block) - 1
    x1, y1 = np.ceil(corners.max(axis=0) / block) + 2
    h, w = shape[0] // block, shape[1] // block
    return (int(np.clip(x0, 0, w)), int(np.clip(y0, 0, h)), int(np.clip(x1, 0, w)), int(np.clip(y1, 0, h)))


def channel_mean(img: np.ndarray) -> np.ndarray:
    """uint8 (..., C) -> uint8 (..., 1): the channels' rounded mean, the zoo's colour-to-gray rule (the data
    preprocessor's for ``channels=1`` too), so a gray patch reads the same whichever path cut it."""
    return img.mean(axis=-1, keepdims=True).round().astype(np.uint8)


def crop_patches(img: np.ndarray, centres: np.ndarray, size: int, scale: float, src_warp=None,
                 angles=None, scales=None, pad_value: float = 0,
                 reduce_whole: bool | None = None, context=()) -> tuple[np.ndarray, np.ndarray]:
    """Cut one patch per centre from ``img``.

    A patch that samples every ``step >= 2`` source pixels is read from a block-averaged copy of the
    region under it (``floor(step)`` px blocks, OpenCV's area interpolation) so that it averages the
    pixels it covers instead of aliasing them. Only the region under each patch is averaged: on a
    1935x2400 cephalogram that is a few percent of the image, which keeps the cut cheap at inference.
    Where the regions together cover more than the image (the refine stage's test-time views cut 9
    overlapping patches per landmark), the image is averaged once instead and each region read from
    it: a block average depends on its own block alone, so the patches are the same pixels either way.

    Args:
        img: uint8 (H, W) or (H, W, C) image; ``src_warp`` maps original px -> its px (identity: it is
            the original).
        centres: (M, 2) patch centres in original px.
        size, scale: patch side in px and original px per patch px.
        angles, scales: optional per-patch rotation (deg) and scale multipliers (augmentation).
        reduce_whole: average the whole image once (True) or each patch's region (False); None chooses
            by the regions' total area. The patches are the same either way; only the time differs.
        context: sampling-step multipliers of the context channels (module docstring); empty: the
            image's own channels.

    Returns:
        ``(patches (M, size, size, C) uint8, warps (M, 3, 3) original px -> patch px)``; with ``context``,
        C is ``1 + len(context)`` and the warps are the fine level's.
    """
    import cv2

    if len(context):
        gray = img if img.ndim == 2 or img.shape[2] == 1 else channel_mean(img)
        levels = [crop_patches(gray, centres, size, scale * float(step), src_warp=src_warp, angles=angles,
                               scales=scales, pad_value=pad_value, reduce_whole=reduce_whole)
                  for step in (1.0, *context)]
        return np.concatenate([patches for patches, _ in levels], axis=-1), levels[0][1]

    src_warp = np.eye(3) if src_warp is None else np.asarray(src_warp, np.float64)
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    m = len(centres)
    angles = np.zeros(m) if angles is None else np.asarray(angles, np.float64)
    scales = np.ones(m) if scales is None else np.asarray(scales, np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    src_per_orig = math.sqrt(abs(np.linalg.det(src_warp[:2, :2])))
    block = _block_grid(scale * float(scales.min(initial=1.0)) * src_per_orig)
    # block-averaged px (u, v) is the mean of source px [u*b, (u+1)*b): its centre is at u*b + (b-1)/2
    to_blocks = np.array([[1 / block, 0, 0.5 / block - 0.5], [0, 1 / block, 0.5 / block - 0.5], [0, 0, 1]])
    orig_from_blocks = np.linalg.inv(to_blocks @ src_warp)  # the same for every patch
    patches = np.full((m, size, size, channels), pad_value, np.uint8)
    warps = np.empty((m, 3, 3), np.float64)
    boxes = []
    for i in range(m):
        warps[i] = patch_warp(centres[i], size, scale * scales[i], angles[i])
        boxes.append(_source_region(src_warp @ np.linalg.inv(warps[i]), size, block, img.shape))
    blocks_high, blocks_wide = img.shape[0] // block, img.shape[1] // block
    if reduce_whole is None:
        covered = sum(max(0, x1 - x0) * max(0, y1 - y0) for x0, y0, x1, y1 in boxes)
        reduce_whole = covered > blocks_high * blocks_wide
    whole = None
    if block > 1 and reduce_whole:
        whole = cv2.resize(img[:blocks_high * block, :blocks_wide * block], (blocks_wide, blocks_high),
                           interpolation=cv2.INTER_AREA)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if x1 <= x0 or y1 <= y0:  # the patch lies wholly outside the image
            continue
        if whole is not None:
            region = whole[y0:y1, x0:x1]
        else:
            region = img[y0 * block:y1 * block, x0 * block:x1 * block]
            if block > 1:
                region = cv2.resize(region, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
        from_region = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)  # region px -> block px
        to_patch = warps[i] @ orig_from_blocks @ from_region  # region px -> patch px
        out = cv2.warpAffine(region, to_patch[:2], (size, size), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(pad_value,) * 4)  # all channels
        patches[i] = out.reshape(size, size, channels)
    return patches, warps


def patch_to_original(points: np.ndarray, warps: np.ndarray) -> np.ndarray:
    """(M, 2) patch px, one point per patch, -> original px through each patch's own warp."""
    return np.stack([apply_warp(p[None], np.linalg.inv(w))[0] for p, w in zip(points, warps)])
