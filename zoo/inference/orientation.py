"""Which way a cephalogram faces, found before its landmarks are read.

A detector learns the orientation of its training images: a lateral cephalogram that faces the other way
(archives hold both) or lies turned by 90 degrees is read as garbage with confident-looking scores. The eight
exact pixel rearrangements of an image (mirror or not, times four quarter turns) cover every such case without
resampling, so the model sees pixel for pixel what it would in its own orientation. The global stage runs on
each; the rearrangement it is most confident on is the model's orientation, the landmarks are read there and
mapped back to the original pixels through the exact inverse. The candidates are scored on the model's own
letterboxed input rearranged (a few hundred pixels a side, not the full radiograph), which differs from the
letterbox of the rearranged image by at most the one-pixel rounding of the centring; the chosen orientation is
then read from the full image, exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Orientation:
    """The rearrangement that brings an image into the model's orientation: ``mirrored`` (left-right, applied
    first), then ``turns`` quarter turns counter-clockwise (``np.rot90``)."""

    mirrored: bool = False
    turns: int = 0

    @property
    def image_turned_deg(self) -> int:
        """How far the *image* is turned counter-clockwise from the model's orientation (the inverse of the
        rearrangement: a mirror is its own inverse, and a mirror and turn undo each other in the same order)."""
        return 90 * (self.turns if self.mirrored else (4 - self.turns) % 4)

    @property
    def name(self) -> str:
        """How the image lies relative to the model's training images."""
        turned = self.image_turned_deg
        parts = (["mirrored"] if self.mirrored else []) + ([f"turned {turned} ccw"] if turned else [])
        return " and ".join(parts) or "as trained"

    @property
    def is_identity(self) -> bool:
        return not self.mirrored and self.turns == 0

    def apply(self, img: np.ndarray, axes=(0, 1)) -> np.ndarray:
        """The image rearranged into this orientation (a copy, C-contiguous); ``axes``: its (height, width) axes,
        ``(2, 3)`` for an (N, C, H, W) batch."""
        out = np.flip(img, axes[1]) if self.mirrored else img
        return np.ascontiguousarray(np.rot90(out, self.turns, axes=axes) if self.turns else out)

    def matrix(self, shape) -> np.ndarray:
        """3x3 map of original pixel coordinates (x, y) into this orientation's pixels; pixel centres are integers,
        so the map is exact."""
        h, w = int(shape[0]), int(shape[1])
        m = np.eye(3)
        if self.mirrored:
            m = np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]) @ m
        for _ in range(self.turns % 4):  # np.rot90: (x, y) -> (y, w - 1 - x), and the sides swap
            m = np.array([[0.0, 1, 0], [-1, 0, w - 1], [0, 0, 1]]) @ m
            h, w = w, h
        return m

    def to_original(self, coords: np.ndarray, shape) -> np.ndarray:
        """(K, 2) coordinates in this orientation's pixels -> the original image's pixels."""
        inv = np.linalg.inv(self.matrix(shape))
        pts = np.c_[np.asarray(coords, np.float64), np.ones(len(coords))]
        return (pts @ inv.T)[:, :2]

    def to_dict(self) -> dict:
        return {"name": self.name, "mirrored": self.mirrored, "turned_ccw_deg": self.image_turned_deg}


AS_TRAINED = Orientation()
ALL = tuple(Orientation(m, t) for m in (False, True) for t in range(4))
#: an image is read rearranged only when the global stage's mean confidence there beats the image as it lies by
#: this much: a model that recognises nothing (random weights, an image that is no cephalogram) is as unsure in
#: every orientation, and must not have its landmarks moved by noise in that unsureness
MIN_SWITCH_MARGIN = 0.1


@dataclass(frozen=True)
class OrientationFinding:
    """The chosen orientation and what chose it: the global stage's mean confidence in each candidate."""

    chosen: Orientation
    confidence: dict

    @property
    def margin(self) -> float:
        """How far the chosen orientation's confidence is above the best other one's (negative when the image was
        kept as it lies for want of a clear winner)."""
        others = [v for k, v in self.confidence.items() if k != self.chosen.name]
        return float(self.confidence[self.chosen.name] - max(others)) if others else float("inf")

    def to_dict(self) -> dict:
        return {**self.chosen.to_dict(), "margin": round(self.margin, 4),
                "confidence": {k: round(float(v), 4) for k, v in self.confidence.items()}}


def find_orientation(confidence_of, candidates=ALL, min_switch: float = MIN_SWITCH_MARGIN) -> OrientationFinding:
    """Score each candidate with ``confidence_of(orientation)`` (the global stage's mean confidence on the image so
    rearranged) and keep the most confident, unless it beats the image as it lies by less than ``min_switch``."""
    confidence = {o.name: float(confidence_of(o)) for o in candidates}
    chosen = max(candidates, key=lambda o: confidence[o.name])
    if AS_TRAINED in candidates and confidence[chosen.name] - confidence[AS_TRAINED.name] < min_switch:
        chosen = AS_TRAINED
    return OrientationFinding(chosen, confidence)
