"""Where the shape model puts a landmark given the others, and how surprised it is by where the detector put it.

The shape model (:class:`zoo.quality.shape.ShapeModel`) is a Gaussian over aligned shapes: the mean, the principal
modes with their variances, and an isotropic residual (probabilistic PCA). Conditioning that Gaussian on some
landmarks gives the others' most likely positions and their covariance, once the known landmarks are brought into
the model's frame by a similarity transform (fitted to the model's own estimate of them, alternately with it).

Two uses: a landmark's *surprise* -- its distance from the estimate the *other* landmarks give, in the conditional
standard deviations (a 2-D Mahalanobis distance: about 1 for a typical anatomy, whatever the landmark's own
variability) -- and the estimate itself, where shape-constrained decoding (:mod:`zoo.models.shape_decoding`)
looks again for a landmark the detector put somewhere no skull has it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .shape import ShapeModel, rotation_onto

ITERATIONS = 10


#: prior variance of the pose directions (unit-size frame): flat next to any shape variance, so the known landmarks
#: alone decide the pose, and its uncertainty reaches the unknown ones
POSE_VARIANCE = 1.0


def _covariance(model: ShapeModel) -> np.ndarray:
    """(2L, 2L) covariance of the flattened (x0, y0, x1, ...) unit-size shape about the mean, the pose included.

    The training shapes were aligned on all their landmarks; a shape known only in part is aligned on those, and
    that alignment is uncertain too. Its four directions at the mean (two shifts, a scale, a turn) are added with
    a flat prior, so conditioning estimates the pose from the known landmarks and carries its error to the others.
    """
    modes = model.modes
    mean = model.mean
    pose = np.stack([np.tile([1.0, 0.0], len(mean)), np.tile([0.0, 1.0], len(mean)), mean.reshape(-1),
                     np.stack([-mean[:, 1], mean[:, 0]], axis=1).reshape(-1)])
    return (modes.T @ (model.variances[:, None] * modes) + POSE_VARIANCE * pose.T @ pose
            + model.residual_variance * np.eye(modes.shape[1]))


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(s, R, t)`` with ``dst ~ s * src @ R.T + t`` in least squares, no reflection (Umeyama)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a = src - mu_s
    onto, trace = rotation_onto(a, dst - mu_d)
    var = float((a ** 2).sum())
    scale = trace / var if var > 1e-12 else 1.0
    rotation = onto.T
    return scale, rotation, mu_d - scale * mu_s @ rotation.T


@dataclass(frozen=True)
class Conditional:
    """The shape model's view of one shape given its ``known`` landmarks, in image px.

    ``estimate`` (L, 2): the most likely position of every landmark (the known ones smoothed towards the model);
    ``covariance`` (L, 2, 2): of each landmark's position given the known ones (image px squared).
    """

    estimate: np.ndarray
    covariance: np.ndarray

    def surprise(self, points: np.ndarray) -> np.ndarray:
        """(L,) Mahalanobis distance of each of ``points`` from its estimate under its covariance."""
        diff = np.asarray(points, np.float64) - self.estimate
        solved = np.linalg.solve(self.covariance, diff[..., None])[..., 0]
        return np.sqrt(np.maximum((diff * solved).sum(axis=1), 0.0))


def conditional(model: ShapeModel, points, known) -> Conditional:
    """Condition ``model`` on the ``known`` (L,) bool landmarks of ``points`` (L, 2, image px; unknown rows may be
    anything, NaN included). Needs at least 3 known landmarks to fix position, size and rotation."""
    points = np.asarray(points, np.float64)
    known = np.asarray(known, bool)
    if points.shape != model.mean.shape or known.shape != (len(model.symbols),):
        raise ValueError(f"points must be {model.mean.shape} and known ({len(model.symbols)},), got {points.shape} "
                         f"and {known.shape}")
    if known.sum() < 3:
        raise ValueError("conditioning a shape needs at least 3 known landmarks")
    cov = _covariance(model)
    dims = np.repeat(known, 2)
    gain = cov[:, dims] @ np.linalg.inv(cov[np.ix_(dims, dims)])
    mean = model.mean.reshape(-1)
    estimate = model.mean.copy()
    for _ in range(ITERATIONS):
        scale, rotation, shift = _similarity(estimate[known], points[known])
        in_frame = ((points[known] - shift) @ rotation) / scale
        estimate = (mean + gain @ (in_frame.reshape(-1) - mean[dims])).reshape(-1, 2)
    post = cov - gain @ cov[dims, :]
    blocks = np.stack([post[2 * j:2 * j + 2, 2 * j:2 * j + 2] for j in range(len(known))])
    blocks = rotation @ blocks @ rotation.T * scale ** 2
    floor = 1e-9 * scale ** 2 * np.eye(2)  # a known landmark's posterior can be ~0; keep it invertible
    return Conditional(estimate @ rotation.T * scale + shift, blocks + floor)


def leave_one_out(model: ShapeModel, points, known=None) -> tuple[np.ndarray, np.ndarray]:
    """``(surprise (L,), estimate (L, 2))``: each landmark judged by, and placed from, the other ``known`` ones."""
    points = np.asarray(points, np.float64)
    known = np.ones(len(points), bool) if known is None else np.asarray(known, bool)
    surprise, estimate = np.full(len(points), np.nan), np.full(points.shape, np.nan)
    for j in range(len(points)):
        others = known.copy()
        others[j] = False
        if others.sum() < 3:
            continue
        cond = conditional(model, points, others)
        estimate[j] = cond.estimate[j]
        if np.isfinite(points[j]).all():
            surprise[j] = cond.surprise(points)[j]
    return surprise, estimate


def outliers(model: ShapeModel, points, threshold: float, max_outliers: int | None = None) -> list[int]:
    """Indices of the landmarks the others cannot explain, worst first: the most surprising one beyond
    ``threshold`` is set aside and the rest judged again without it, until none is beyond (or ``max_outliers``,
    default a third of the landmarks, are out: beyond that there is no anatomy left to judge by)."""
    points = np.asarray(points, np.float64)
    known = np.isfinite(points).all(axis=1)
    limit = len(points) // 3 if max_outliers is None else int(max_outliers)
    out: list[int] = []
    while len(out) < limit:
        surprise, _ = leave_one_out(model, points, known)
        surprise[~known] = -np.inf
        worst = int(np.nanargmax(surprise))
        if not surprise[worst] > threshold:
            break
        out.append(worst)
        known[worst] = False
    return out
