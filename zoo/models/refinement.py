"""The second stage's inference step, shared by ``TwoStageDetector.predict`` (``zoo test``) and the
``Predictor`` (``zoo predict``, ``zoo serve``, export checks, the leaderboard).

Given coarse landmarks in original pixels, cut one native-resolution patch per landmark, run the refine
network on all patches of all images at once (one batch: patches are small), read landmark ``k`` from
heatmap ``k`` of patch ``k`` and map it back to original pixels. A landmark whose refined heatmap peak
is weaker than ``min_score`` keeps its coarse position: the patch probably missed it, and a guess inside
the patch would be worse than the coarse estimate.

Test-time augmentation of the refine stage (``views``): each landmark is refined from several patches --
centres shifted, rotated or rescaled as in training -- and the answers, each mapped back through its own
patch's warp, are averaged. The refine network was trained on patches whose centre is off the truth by the
global stage's typical error, so its answer still depends a little on where the patch happens to sit; the
views average that dependence out. They cost one refine batch each (all views go in the same batch).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from zoo.data.patches import channel_mean, crop_patches, patch_to_original

from .shape_decoding import ShapeDecoding

IDENTITY_VIEW = (0.0, 0.0, 0.0, 1.0)
AGGREGATES = ("mean", "median")


class RefineViewError(ValueError):
    """A refine view is not ``dict(shift=(dx, dy), angle=deg, scale=s)``; the message says which part."""


def parse_views(views) -> tuple:
    """Config views -> ``((dx, dy, angle, scale), ...)``.

    Each view is ``dict(shift=(dx, dy), angle=0.0, scale=1.0)``: the patch centre moved by (dx, dy)
    *patch* pixels (so a view means the same window fraction at any ``patch_scale``), the patch rotated by
    ``angle`` degrees and its sampling step multiplied by ``scale``. Missing keys keep the plain patch.
    """
    if views is None:
        return (IDENTITY_VIEW,)
    if isinstance(views, dict) or not len(views):
        raise RefineViewError(f"refine views must be a non-empty list of dict(shift=(dx, dy), angle=deg, scale=s), "
                              f"got {views!r}.")
    out = []
    for i, view in enumerate(views):
        if isinstance(view, (tuple, list)) and len(view) == 4:  # already parsed (from a checkpoint's metadata)
            out.append(tuple(float(v) for v in view))
            continue
        if not isinstance(view, dict) or set(view) - {"shift", "angle", "scale"}:
            raise RefineViewError(f"refine view {i} must be dict(shift=(dx, dy), angle=deg, scale=s), got {view!r}.")
        shift = tuple(float(v) for v in view.get("shift", (0.0, 0.0)))
        scale = float(view.get("scale", 1.0))
        if len(shift) != 2 or scale <= 0:
            raise RefineViewError(f"refine view {i}: shift needs two patch-pixel offsets and scale must be > 0, "
                                  f"got {view!r}.")
        out.append((shift[0], shift[1], float(view.get("angle", 0.0)), scale))
    return tuple(out)


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
        views: ``(dx, dy, angle, scale)`` per test-time view (:func:`parse_views`); the answers of the views
            whose peak reaches ``min_score`` are averaged. One identity view: no augmentation.
        context: sampling-step multipliers of the patches' context channels (``zoo.data.patches``); empty:
            the image's own channels.
        shape_decoding: :class:`zoo.models.shape_decoding.ShapeDecoding`, the rule by which landmarks off the
            model's shape are looked for again (None: off; it also needs the model file's shape model).
        aggregate: how the agreeing views' answers become one: ``"mean"``, or ``"median"`` (their geometric
            median: where views split between two contours, the mean lands between them, on neither).
    """

    patch_size: int
    patch_scale: float
    iters: int = 1
    min_score: float = 0.05
    channels: int = 3
    mean: tuple = (123.675, 116.28, 103.53)
    std: tuple = (58.395, 57.12, 57.375)
    views: tuple = (IDENTITY_VIEW,)
    context: tuple = ()
    shape_decoding: ShapeDecoding | None = None
    aggregate: str = "mean"

    def __post_init__(self):
        if self.aggregate not in AGGREGATES:
            raise RefineViewError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {self.aggregate!r}.")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = [float(v) for v in self.mean], [float(v) for v in self.std]
        d["views"] = [[float(v) for v in view] for view in self.views]
        d["context"] = [float(v) for v in self.context]
        if self.shape_decoding is None:  # files without the rule stay as they were, readable by older zoos
            d.pop("shape_decoding")
        if self.aggregate == "mean":
            d.pop("aggregate")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RefineSpec:
        """The inverse of ``to_dict``; metadata written before views (or context, or shape decoding) existed reads as
        one identity view (no context channels, no shape decoding)."""
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**{**fields, "mean": tuple(fields.get("mean", cls.mean)), "std": tuple(fields.get("std", cls.std)),
                      "views": parse_views(fields.get("views")),
                      "context": tuple(float(v) for v in fields.get("context", ())),
                      "shape_decoding": ShapeDecoding.parse(fields.get("shape_decoding"))})

    def crop(self, img: np.ndarray, centres: np.ndarray, src_warp=None, **kwargs):
        """:func:`crop_patches` with this spec's size, scale and context: ``(patches, warps)``."""
        return crop_patches(img, centres, self.patch_size, self.patch_scale, src_warp=src_warp,
                            context=self.context, **kwargs)

    def normalise(self, patches: np.ndarray) -> np.ndarray:
        """uint8 (M, P, P, c) -> float32 (M, channels, P, P), as the global stage's preprocessor does."""
        if patches.shape[-1] != self.channels:
            patches = np.repeat(patches, self.channels, axis=-1) if patches.shape[-1] == 1 \
                else channel_mean(patches)
        mean = np.asarray(self.mean, np.float32).reshape(1, 1, 1, -1)
        std = np.asarray(self.std, np.float32).reshape(1, 1, 1, -1)
        x = (patches.astype(np.float32) - mean) / std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def crop_views(img: np.ndarray, points: np.ndarray, spec: RefineSpec, src_warp=None, reduce_whole=None):
    """Every view's patch around every point, view-major: ``(patches (V*K, P, P, c), warps (V*K, 3, 3))``,
    patch m belonging to point ``m % K`` (what the refine graph's own-heatmap pick expects).
    ``reduce_whole``: as :func:`crop_patches` (None: whichever averages fewer pixels)."""
    views = np.asarray(spec.views, np.float64).reshape(-1, 4)
    k = len(points)
    centres = (np.asarray(points, np.float64)[None] + views[:, None, :2] * spec.patch_scale).reshape(-1, 2)
    return spec.crop(img, centres, src_warp=src_warp, angles=np.repeat(views[:, 2], k),
                     scales=np.repeat(views[:, 3], k), reduce_whole=reduce_whole)


class Refined(NamedTuple):
    """One image's refined landmarks. ``spread``: per landmark, the RMS distance (original px) of the agreeing
    views' answers from their mean in the last pass -- how much the refine stage's answer depends on where its
    patch sat, a ground-truth-free sign of how sure it is (NaN where fewer than two views agreed)."""

    coords: np.ndarray
    scores: np.ndarray
    refined: np.ndarray
    spread: np.ndarray


def refine_landmarks(images, src_warps, coarse, scores, run, spec: RefineSpec) -> list[Refined]:
    """Refine every image's coarse landmarks.

    Args:
        images: uint8 images, each (H, W[, c]); ``src_warps[i]`` maps original px -> ``images[i]`` px.
        coarse, scores: per image (K, 2) original px and (K,) confidences from the global stage.
        run: normalised patches (M, C, P, P) float32, K per image in landmark order -> (coords (M, 2) patch
            px, scores (M,)), each patch's own landmark (``TwoStageDetector.refine_tensor``). With V views an
            image contributes V blocks of K patches, so patch m is still landmark ``m % K``.

    Returns:
        per image a :class:`Refined`: coords (K, 2) original px, scores (K,), refined (K,) bool, spread (K,) px.
    """
    points = [np.asarray(c, np.float64).copy() for c in coarse]
    confs = [np.asarray(s, np.float64).copy() for s in scores]
    refined = [np.zeros(len(p), bool) for p in points]
    spreads = [np.full(len(p), np.nan) for p in points]
    v = len(spec.views)
    for _ in range(int(spec.iters)):
        batches, warps = [], []
        for img, warp, pts in zip(images, src_warps, points):
            patches, pw = crop_views(img, pts, spec, src_warp=warp)
            batches.append(patches)
            warps.append(pw)
        out_xy, out_score = run(spec.normalise(np.concatenate(batches)))
        out_xy, out_score = np.asarray(out_xy, np.float64), np.asarray(out_score, np.float64)
        start = 0
        for i, pts in enumerate(points):
            k = len(pts)
            xy, sc = out_xy[start:start + v * k], out_score[start:start + v * k]
            start += v * k
            new = patch_to_original(xy, warps[i]).reshape(v, k, 2)
            sc = sc.reshape(v, k)
            ok = np.isfinite(new).all(axis=2) & np.isfinite(sc) & (sc >= spec.min_score)  # (V, K)
            n = ok.sum(axis=0)
            hit = n > 0
            mean_xy = np.where(ok[..., None], new, 0.0).sum(axis=0)[hit] / n[hit, None]
            if spec.aggregate == "median":
                mean_xy = _geometric_median(new[:, hit], ok[:, hit], mean_xy)
            mean_sc = np.where(ok, sc, 0.0).sum(axis=0)[hit] / n[hit]
            points[i][hit], confs[i][hit] = mean_xy, mean_sc
            refined[i] |= hit
            spreads[i] = _view_spread(new, ok)
    return [Refined(*parts) for parts in zip(points, confs, refined, spreads)]


def _geometric_median(xy: np.ndarray, ok: np.ndarray, start: np.ndarray, steps: int = 30) -> np.ndarray:
    """(V, K, 2) answers, (V, K) agreement, (K, 2) their mean -> (K, 2) geometric median of the agreeing answers
    (Weiszfeld's iteration from the mean; the point with the least summed distance to them)."""
    point = start.copy()
    weight_ok = ok.astype(np.float64)
    for _ in range(steps):
        distance = np.hypot(*np.moveaxis(xy - point[None], -1, 0))  # (V, K)
        w = weight_ok / np.maximum(distance, 1e-6)
        point = (w[..., None] * np.where(ok[..., None], xy, 0.0)).sum(axis=0) / w.sum(axis=0)[:, None]
    return point


def _view_spread(xy: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """(V, K, 2) answers and (V, K) agreement -> (K,) RMS distance from the agreeing answers' mean (NaN below 2)."""
    n = ok.sum(axis=0)
    spread = np.full(xy.shape[1], np.nan)
    many = n >= 2
    if many.any():
        safe = np.where(ok[..., None], xy, 0.0)
        mean = safe.sum(axis=0) / np.maximum(n, 1)[:, None]
        sq = np.where(ok, ((xy - mean[None]) ** 2).sum(axis=2), 0.0).sum(axis=0)
        spread[many] = np.sqrt(sq[many] / n[many])
    return spread
