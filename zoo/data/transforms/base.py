"""The transform protocol: a callable ``dict -> dict`` (or None to drop a sample), as mmengine's Compose expects.

mmengine-lite has no ``BaseTransform`` (that lives in mmcv, which we do not depend on), so this is the
zoo's own, with the same shape: subclasses implement ``transform(results)``.
"""
from __future__ import annotations

import numpy as np

from zoo.structures import apply_warp, identity_warp


class BaseTransform:
    """Base of the zoo's transforms; ``__call__`` delegates to ``transform``."""

    def __call__(self, results: dict) -> dict | None:
        return self.transform(results)

    def transform(self, results: dict) -> dict | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


def compose_warp(results: dict, matrix: np.ndarray, out_shape: tuple[int, int]) -> None:
    """Apply a geometric step to a sample: compose its matrix onto ``warp``, move the keypoints,
    and mark keypoints that left the image invisible (they are never clipped to the border)."""
    matrix = np.asarray(matrix, np.float64)
    results["warp"] = matrix @ np.asarray(results.get("warp", identity_warp()), np.float64)
    results["img_shape"] = (int(out_shape[0]), int(out_shape[1]))
    if results.get("keypoints") is None:
        return
    kpts = apply_warp(results["keypoints"], matrix).astype(np.float32)
    results["keypoints"] = kpts
    vis = np.asarray(results.get("keypoints_visible", np.ones(len(kpts))), np.float32).copy()
    h, w = out_shape
    inside = (kpts[:, 0] >= -0.5) & (kpts[:, 0] <= w - 0.5) & (kpts[:, 1] >= -0.5) & (kpts[:, 1] <= h - 0.5)
    vis[~inside] = 0.0
    results["keypoints_visible"] = vis


def rng_uniform(low: float, high: float) -> float:
    """A draw from numpy's global generator, which mmengine seeds per worker (``randomness=dict(seed=)``)."""
    return float(np.random.uniform(low, high)) if high > low else float(low)


def as_range(value, around: float = 0.0) -> tuple[float, float]:
    """``x`` -> ``(around - x, around + x)``; a pair stays as given."""
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    return around - float(value), around + float(value)
