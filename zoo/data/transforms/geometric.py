"""Geometric transforms. Each composes its exact matrix onto ``warp`` (pixel centres at integers), so a
prediction in network pixels maps back to original pixels with ``zoo.structures.to_original``."""
from __future__ import annotations

import math

import numpy as np

from zoo.registry import TRANSFORMS

from .base import BaseTransform, as_range, compose_warp, rng_uniform


def letterbox_warp(hw: tuple[int, int], size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """The letterbox geometry of an (h, w) image into ``size=(W, H)``: (matrix, resized (w, h), (left, top))."""
    h, w = hw
    W, H = int(size[0]), int(size[1])
    s = min(W / w, H / h)
    nw, nh = max(1, min(W, int(round(w * s)))), max(1, min(H, int(round(h * s))))
    sx, sy = nw / w, nh / h  # the scales cv2.resize really applies on each axis
    left, top = (W - nw) // 2, (H - nh) // 2
    # cv2.resize maps centres: x_dst = (x_src + 0.5) * sx - 0.5
    matrix = np.array([[sx, 0, 0.5 * sx - 0.5 + left], [0, sy, 0.5 * sy - 0.5 + top], [0, 0, 1]], np.float64)
    return matrix, (nw, nh), (left, top)


def letterbox(img: np.ndarray, size, pad_value: float = 0, interpolation: int | None = None):
    """Resize keeping the aspect ratio and pad to ``size=(W, H)``, centred.

    Returns ``(img_out, warp)``: ``warp`` (3x3) maps original pixels to output pixels exactly. Training
    (``LetterboxResize``) and serving (the predictor) both call this, so preprocessing cannot drift.
    """
    import cv2

    matrix, (nw, nh), (left, top) = letterbox_warp(img.shape[:2], size)
    W, H = int(size[0]), int(size[1])
    if interpolation is None:
        interpolation = cv2.INTER_AREA if nw < img.shape[1] else cv2.INTER_LINEAR
    same = (nw, nh) == (img.shape[1], img.shape[0])
    resized = img if same else cv2.resize(img, (nw, nh), interpolation=interpolation)
    if resized.ndim == 2 and img.ndim == 3:
        resized = resized[:, :, None]
    channels = 1 if resized.ndim == 2 else resized.shape[2]
    out = np.full((H, W) + (() if resized.ndim == 2 else (channels,)), pad_value, dtype=resized.dtype)
    out[top:top + nh, left:left + nw] = resized
    return out, matrix


@TRANSFORMS.register_module()
class LetterboxResize(BaseTransform):
    """Resize to ``size=(W, H)`` keeping the aspect ratio, padding with ``pad_value`` (centred).

    Args:
        cache_size: keep up to this many resized images, per loader worker (0: none), for the read-only
            images ``LoadCephalogram(cache_size=...)`` hands out. A two-stage model loads every training
            image at full resolution for its patches, and area-resizing a full cephalogram to 256 px is
            most of the pipeline's time, every time the image comes round (it comes out the same).
            Only a read-only array, the very object resized before, is a hit: a transform that changed the
            image made a new array, so it is resized afresh.
    """

    def __init__(self, size=(512, 512), pad_value: float = 0, cache_size: int = 0):
        self.size = (int(size[0]), int(size[1]))
        self.pad_value = pad_value
        self.cache_size = int(cache_size)
        self._cache: dict[int, tuple] = {}

    def transform(self, results: dict) -> dict:
        src = results["img"]
        hit = self._cache.get(id(src)) if self.cache_size else None
        if hit is not None and hit[0] is src:
            img, matrix = hit[1].copy(), hit[2]  # later transforms may write to their input
        else:
            img, matrix = letterbox(src, self.size, self.pad_value)
            # filled once, like LoadCephalogram's cache, whose first images are the read-only ones that come back
            if self.cache_size and not src.flags.writeable and len(self._cache) < self.cache_size:
                self._cache[id(src)] = (src, img.copy(), matrix)  # holding src keeps its id from being reused
        results["img"] = img
        compose_warp(results, matrix, img.shape[:2])
        return results


_INTERP = {"nearest": 0, "linear": 1, "cubic": 2, "area": 3}


@TRANSFORMS.register_module()
class RandomAffine(BaseTransform):
    """Random rotation, scale and translation about the image centre; keypoints move with the image.

    Args:
        rotate: max degrees either way, or a ``(low, high)`` range.
        scale: ``(low, high)`` zoom factors.
        translate: max shift as a fraction of width/height, either way.
        prob: probability of applying it at all.
        border_value: fill outside the source image.
    Keypoints that leave the output are marked invisible (weight 0), not clipped.
    """

    def __init__(self, rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob: float = 1.0,
                 border_value: float = 0, interpolation: str = "linear"):
        self.rotate = as_range(rotate)
        self.scale = as_range(scale, 1.0)
        self.translate = as_range(translate)
        self.prob = prob
        self.border_value = border_value
        self.interpolation = interpolation

    def matrix(self, hw, angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
        """The affine of given parameters: about the image centre, then shifted by (tx, ty) px."""
        h, w = hw
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        a = math.radians(angle_deg)
        c, s = math.cos(a) * scale, math.sin(a) * scale
        return np.array([[c, s, (1 - c) * cx - s * cy + tx], [-s, c, s * cx + (1 - c) * cy + ty], [0, 0, 1]])

    def transform(self, results: dict) -> dict:
        import cv2

        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return results
        img = results["img"]
        h, w = img.shape[:2]
        m = self.matrix((h, w), rng_uniform(*self.rotate), rng_uniform(*self.scale),
                        rng_uniform(*self.translate) * w, rng_uniform(*self.translate) * h)
        channels = 1 if img.ndim == 2 else img.shape[2]
        out = cv2.warpAffine(img, m[:2], (w, h), flags=_INTERP[self.interpolation],
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(self.border_value,) * max(channels, 1))
        if out.ndim == 2 and img.ndim == 3:
            out = out[:, :, None]
        results["img"] = out
        compose_warp(results, m, (h, w))
        return results


@TRANSFORMS.register_module()
class RandomHorizontalFlip(BaseTransform):
    """Mirror the image left-right with probability ``prob``; paired landmarks trade places.

    ``test_cfg.flip_test`` averages a detector's prediction with its prediction on the mirrored image, which is
    meaningful only for a model that saw mirrored images in training: a mirrored lateral cephalogram faces the
    other way, and an ISBI model trained without this transform was many times worse with flip testing than
    without. A training-time transform: it moves ``keypoints`` and composes the mirror onto ``warp``;
    ``ori_keypoints`` (the truth the metric reads) stays as annotated.

    Args:
        prob: probability of mirroring a sample.
        flip_pairs: index pairs that swap names when mirrored (left/right structures); None reads them from the
            sample's landmark set (none on a lateral view: each landmark stays itself).
    """

    def __init__(self, prob: float = 0.5, flip_pairs=None):
        if not 0.0 <= float(prob) <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: prob must be in [0, 1], got {prob!r}")
        self.prob = float(prob)
        self.flip_pairs = None if flip_pairs is None else [(int(a), int(b)) for a, b in flip_pairs]

    def _pairs(self, results: dict) -> list[tuple[int, int]]:
        if self.flip_pairs is not None:
            return self.flip_pairs
        name = results.get("landmark_set")
        if name is None:
            return []
        from zoo.data.landmark_sets import get_landmark_set

        return list(get_landmark_set(name).flip_pairs)

    def transform(self, results: dict) -> dict:
        if self.prob < 1.0 and np.random.rand() >= self.prob:
            return results
        img = results["img"]
        h, w = img.shape[:2]
        results["img"] = np.ascontiguousarray(img[:, ::-1])
        compose_warp(results, np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), (h, w))
        kpts = results.get("keypoints")
        pairs = self._pairs(results) if kpts is not None else []
        if pairs:
            from zoo.data.landmark_sets import flip_order

            order = flip_order(len(kpts), pairs)
            results["keypoints"] = np.asarray(kpts)[order]
            if results.get("keypoints_visible") is not None:
                results["keypoints_visible"] = np.asarray(results["keypoints_visible"])[order]
        return results
