"""How plausible a set of landmarks is as an anatomy, judged against the training annotations' shapes.

A detector that cannot read an image (noise, a hand X-ray, a crop without the skull) still puts every landmark
somewhere, often with confident peaks; what it cannot do is put them where a skull's landmarks lie relative to each
other. The shape model holds that relation: the training shapes are brought to a common position, size and rotation
(generalised Procrustes analysis, no reflection, since a mirrored skull read as trained is a wrong reading), and
their remaining variation is summarised by its principal modes. A predicted shape is aligned the same way, and its
distance is a Mahalanobis distance in those modes plus the residual outside them, divided by the degrees of freedom
so a typical anatomy scores about 1 whatever the landmark count.

Ruler points are left out: where a ruler hangs says nothing about the anatomy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.registry import ZooError

#: principal modes kept: as many as explain this share of the training shapes' variance
EXPLAINED_VARIANCE = 0.98
MIN_SHAPES = 10
#: each landmark reported as off the anatomy beyond this many training standard deviations
OFF_SHAPE_SD = 4.0


class ShapeModelError(ZooError):
    """Too few or inconsistent shapes to learn from, or a stored shape model that does not fit the model."""


def _normalise(shape: np.ndarray) -> np.ndarray:
    centred = shape - shape.mean(axis=0)
    size = np.linalg.norm(centred)
    if not np.isfinite(size) or size <= 1e-9:
        raise ShapeModelError("a shape whose landmarks all coincide has no size to normalise")
    return centred / size


def rotation_onto(shape: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, float]:
    """``(R, trace)``: the rotation minimising ``|shape @ R - reference|`` for centred point sets (never a reflection:
    a mirrored skull is not anatomy), and ``trace(shape @ R . reference)``, which a best-fitting scale divides by
    ``|shape|^2``."""
    u, singular, vt = np.linalg.svd(shape.T @ reference)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    return u @ np.diag([1.0, d]) @ vt, float(singular[0] + d * singular[1])


def align(shape: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``shape`` (centred, unit size) rotated onto ``reference`` (rotation only: a reflection is not anatomy)."""
    return shape @ rotation_onto(shape, reference)[0]


@dataclass(frozen=True)
class ShapeModel:
    """Mean shape, principal modes and their variances, learnt from training annotations.

    Args:
        symbols: the landmarks it covers, in the model's order (a subset: ruler points are left out).
        mean: (L, 2) unit-size centred mean shape.
        modes: (M, 2L) orthonormal principal directions in the tangent space of the mean.
        variances: (M,) variance along each mode.
        residual_variance: variance per remaining dimension, for what the modes do not explain.
        landmark_sd: (L,) RMS distance of each training landmark from the mean after alignment.
        num_shapes: how many training shapes it was learnt from.
    """

    symbols: tuple
    mean: np.ndarray
    modes: np.ndarray
    variances: np.ndarray
    residual_variance: float
    landmark_sd: np.ndarray
    num_shapes: int

    @property
    def dof(self) -> int:
        """Dimensions of shape space: 2 coordinates per landmark, less translation (2), size and rotation."""
        return 2 * len(self.symbols) - 4

    @classmethod
    def fit(cls, shapes, symbols, iterations: int = 20) -> ShapeModel:
        """Generalised Procrustes analysis and PCA of (N, L, 2) fully annotated training shapes."""
        shapes = np.asarray(shapes, np.float64)
        if shapes.ndim != 3 or shapes.shape[2] != 2 or shapes.shape[1] != len(symbols):
            raise ShapeModelError(f"shapes must be (N, {len(symbols)}, 2), got {shapes.shape}")
        if len(symbols) < 3:
            raise ShapeModelError("a shape needs at least 3 landmarks")
        if len(shapes) < MIN_SHAPES:
            raise ShapeModelError(f"{len(shapes)} fully annotated shapes; the shape model needs at least {MIN_SHAPES}")
        unit = np.stack([_normalise(s) for s in shapes])
        mean = unit[0]
        for _ in range(iterations):
            aligned = np.stack([align(s, mean) for s in unit])
            new = _normalise(aligned.mean(axis=0))
            new = align(new, mean)
            if np.linalg.norm(new - mean) < 1e-10:
                mean = new
                break
            mean = new
        aligned = np.stack([align(s, mean) for s in unit])
        tangent = aligned / np.einsum("nij,ij->n", aligned, mean)[:, None, None]  # project onto the mean's plane
        flat = (tangent - mean).reshape(len(shapes), -1)
        _, singular, vt = np.linalg.svd(flat, full_matrices=False)
        eig = singular ** 2 / (len(shapes) - 1)
        dof = 2 * len(symbols) - 4
        eig = eig[:dof]
        explained = np.cumsum(eig) / eig.sum()
        m = int(min(np.searchsorted(explained, EXPLAINED_VARIANCE) + 1, len(shapes) - 2, dof - 1))
        rest = eig[m:]
        residual = float(rest.sum() / max(dof - m, 1)) if rest.size else float(eig[-1])
        floor = 1e-12 + 1e-6 * float(eig.sum())
        landmark_sd = np.sqrt(((tangent - mean) ** 2).sum(axis=2).mean(axis=0))
        return cls(tuple(symbols), mean, vt[:m], np.maximum(eig[:m], floor), max(residual, floor),
                   np.maximum(landmark_sd, 1e-9), len(shapes))

    def _residual(self, shape: np.ndarray) -> np.ndarray:
        unit = align(_normalise(np.asarray(shape, np.float64)), self.mean)
        return unit / float(np.sum(unit * self.mean)) - self.mean

    def distance(self, shape) -> float:
        """RMS Mahalanobis distance per shape dimension of one (L, 2) shape: about 1 for a typical anatomy."""
        d = self._residual(shape).reshape(-1)
        b = self.modes @ d
        rest = d - self.modes.T @ b
        d2 = float(np.sum(b ** 2 / self.variances) + rest @ rest / self.residual_variance)
        return float(np.sqrt(d2 / self.dof))

    def off_shape(self, shape, sd: float = OFF_SHAPE_SD) -> list[str]:
        """The landmarks farther from the mean shape than ``sd`` training standard deviations, worst first."""
        z = np.linalg.norm(self._residual(shape), axis=1) / self.landmark_sd
        order = np.argsort(-z)
        return [self.symbols[i] for i in order if z[i] > sd]

    def to_dict(self) -> dict:
        return {"symbols": list(self.symbols), "mean": self.mean.round(8).tolist(),
                "modes": self.modes.round(8).tolist(), "variances": [float(v) for v in self.variances],
                "residual_variance": float(self.residual_variance),
                "landmark_sd": [float(v) for v in self.landmark_sd], "num_shapes": int(self.num_shapes)}

    @classmethod
    def from_dict(cls, d: dict) -> ShapeModel:
        """The inverse of :meth:`to_dict`, checked (it comes from a model file)."""
        try:
            symbols = tuple(str(s) for s in d["symbols"])
            mean = np.asarray(d["mean"], np.float64)
            modes = np.asarray(d["modes"], np.float64).reshape(-1, 2 * len(symbols))
            variances = np.asarray(d["variances"], np.float64)
            landmark_sd = np.asarray(d["landmark_sd"], np.float64)
            residual = float(d["residual_variance"])
            num = int(d["num_shapes"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ShapeModelError(f"the shape model is incomplete or malformed ({type(exc).__name__}: {exc})") from None
        ok = (len(symbols) >= 3 and mean.shape == (len(symbols), 2) and len(variances) == len(modes)
              and landmark_sd.shape == (len(symbols),) and len(modes) < 2 * len(symbols) - 4 + 1
              and all(np.isfinite(a).all() for a in (mean, modes, variances, landmark_sd))
              and (variances > 0).all() and (landmark_sd > 0).all() and np.isfinite(residual) and residual > 0)
        if not ok:
            raise ShapeModelError("the shape model's arrays do not agree in size or hold non-positive variances")
        return cls(symbols, mean, modes, variances, residual, landmark_sd, num)
