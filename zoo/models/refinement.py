"""The second stage's inference step, shared by ``TwoStageDetector.predict`` (``zoo test``) and the
``Predictor`` (``zoo predict``, ``zoo serve``, export checks, the leaderboard).

Given coarse landmarks in original pixels, cut one native-resolution patch per landmark, run the refine
network on all patches of all images at once (one batch: patches are small), read landmark ``k`` from
heatmap ``k`` of patch ``k`` and map it back to original pixels. A landmark whose refined heatmap peak
is weaker than ``min_score`` keeps its coarse position: the patch probably missed it, and a guess inside
the patch would be worse than the coarse estimate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .patches import crop_patches, patch_to_original


@dataclass(frozen=True)
class RefineSpec:
    """Everything the refine step needs besides the network; stored in ``zoo_meta['refine']``.

    Args:
        patch_size: patch side in pixels (the refine network's input).
        patch_scale: original pixels per patch pixel (1 = native resolution).
        iters: refine passes; each re-centres the patches on the previous answer (0: the global stage's
            landmarks as they are, for ablations).
        min_score: refined peaks weaker than this keep the coarse position.
        channels, mean, std: how patches are normalised (the same as the global stage's images).
    """

    patch_size: int
    patch_scale: float
    iters: int = 1
    min_score: float = 0.05
    channels: int = 3
    mean: tuple = (123.675, 116.28, 103.53)
    std: tuple = (58.395, 57.12, 57.375)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = [float(v) for v in self.mean], [float(v) for v in self.std]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RefineSpec":
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**fields, "mean": tuple(fields.get("mean", cls.mean)), "std": tuple(fields.get("std", cls.std))})

    def normalise(self, patches: np.ndarray) -> np.ndarray:
        """uint8 (M, P, P, c) -> float32 (M, channels, P, P), as the global stage's preprocessor does."""
        if patches.shape[-1] != self.channels:
            patches = np.repeat(patches, self.channels, axis=-1) if patches.shape[-1] == 1 else \
                patches.mean(axis=-1, keepdims=True).round().astype(np.uint8)
        mean = np.asarray(self.mean, np.float32).reshape(1, 1, 1, -1)
        std = np.asarray(self.std, np.float32).reshape(1, 1, 1, -1)
        x = (patches.astype(np.float32) - mean) / std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def refine_landmarks(images, src_warps, coarse, scores, run, spec: RefineSpec):
    """Refine every image's coarse landmarks.

    Args:
        images: uint8 images, each (H, W[, c]); ``src_warps[i]`` maps original px -> ``images[i]`` px.
        coarse, scores: per image (K, 2) original px and (K,) confidences from the global stage.
        run: normalised patches (M, C, P, P) float32, K per image in landmark order -> (coords (M, 2) patch
            px, scores (M,)), each patch's own landmark (``TwoStageDetector.refine_tensor``).

    Returns:
        per image ``(coords (K, 2) original px, scores (K,), refined (K,) bool)``.
    """
    points = [np.asarray(c, np.float64).copy() for c in coarse]
    confs = [np.asarray(s, np.float64).copy() for s in scores]
    refined = [np.zeros(len(p), bool) for p in points]
    for _ in range(int(spec.iters)):
        batches, warps = [], []
        for img, warp, pts in zip(images, src_warps, points):
            patches, pw = crop_patches(img, pts, spec.patch_size, spec.patch_scale, src_warp=warp)
            batches.append(patches)
            warps.append(pw)
        out_xy, out_score = run(spec.normalise(np.concatenate(batches)))
        out_xy, out_score = np.asarray(out_xy, np.float64), np.asarray(out_score, np.float64)
        start = 0
        for i, pts in enumerate(points):
            k = len(pts)
            xy, sc = out_xy[start:start + k], out_score[start:start + k]
            start += k
            new = patch_to_original(xy, warps[i])
            ok = np.isfinite(new).all(axis=1) & np.isfinite(sc) & (sc >= spec.min_score)
            points[i][ok], confs[i][ok] = new[ok], sc[ok]
            refined[i] |= ok
    return [(p, c, r) for p, c, r in zip(points, confs, refined)]
