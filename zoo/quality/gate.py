"""The image-level verdict: ``ok``, ``suspect`` or ``reject``, with the reasons, from signals that need no truth.

Each signal has a direction (a high shape distance is bad, a low confidence is bad) and two thresholds set on clean
validation images (:mod:`zoo.calibration`). One signal past its ``suspect`` threshold makes the image
suspect; one past its ``reject`` threshold, or two past ``suspect``, rejects it: the signals watch different parts
of the model (the global stage's heatmaps, the refine stage's views, the arrangement of the answer), so two of them
failing together is no coincidence. A rejected image's landmarks are still returned -- a person may want to see
what the model made of it -- but nothing is measured from them (``zoo analyze``, the viewer).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from zoo.registry import ZooError

OK, SUSPECT, REJECT, UNCHECKED = "ok", "suspect", "reject", "unchecked"

#: name -> (bad direction, what it means when it is bad)
SIGNALS = {
    "shape_distance": ("high", "the landmarks are not arranged like any training anatomy"),
    "confidence": ("low", "the global stage's heatmaps are weak"),
    "view_spread_px": ("high", "the refine stage's shifted views disagree"),
    "refine_shift_px": ("high", "the refine stage moved the landmarks far from the global stage's answer"),
    "orientation_margin": ("low", "no orientation of the image reads clearly better than the others"),
    "scale_error": ("high", "the anatomy is not the size the model was trained on, at the pixel size it was read at"),
}


class QualityError(ZooError):
    """The quality calibration is malformed."""


@dataclass(frozen=True)
class Threshold:
    suspect: float
    reject: float

    def level(self, value: float, direction: str) -> str:
        if not math.isfinite(value):
            return REJECT
        bad = (lambda t: value > t) if direction == "high" else (lambda t: value < t)
        return REJECT if bad(self.reject) else SUSPECT if bad(self.suspect) else OK


@dataclass
class Verdict:
    """What ``entry['quality']`` holds: the status, why, and every signal's value."""

    status: str
    reasons: list = field(default_factory=list)
    signals: dict = field(default_factory=dict)
    off_shape: list = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """Whether measurements may be computed from the landmarks (a suspect image's are, with its warning)."""
        return self.status != REJECT

    def to_dict(self) -> dict:
        out = {"status": self.status, "reasons": list(self.reasons),
               "signals": {k: (round(v, 4) if math.isfinite(v) else None) for k, v in self.signals.items()}}
        if self.off_shape:
            out["off_shape_landmarks"] = list(self.off_shape)
        return out


def judge(signals: dict, thresholds: dict, off_shape=(), flags=()) -> Verdict:
    """The verdict of ``signals`` (name -> value; names without a threshold are reported, not judged); ``flags``:
    ``(level, reason)`` pairs found otherwise (an image read at a pixel size the model was not calibrated at), which
    count like a signal past that level."""
    reasons, levels = [], []
    for name, value in signals.items():
        if name not in thresholds:
            continue
        direction, meaning = SIGNALS[name]
        level = thresholds[name].level(value, direction)
        if level != OK:
            limit = getattr(thresholds[name], level)
            side = ">" if direction == "high" else "<"
            shown = f"{value:.3g}" if math.isfinite(value) else "not finite"
            reasons.append(f"{meaning} ({name} {shown} {side} {level} threshold {limit:.3g})")
            levels.append(level)
    for level, reason in flags:
        reasons.append(reason)
        levels.append(level)
    if off_shape and "shape_distance" in signals and levels:
        reasons.append(f"farthest from the training anatomy: {', '.join(off_shape[:5])}")
    status = REJECT if (REJECT in levels or len(levels) >= 2) else SUSPECT if levels else OK
    return Verdict(status, reasons, dict(signals), list(off_shape) if levels else [])


def thresholds_from_dict(d: dict) -> dict:
    out = {}
    for name, t in (d or {}).items():
        if name not in SIGNALS:
            raise QualityError(f"unknown quality signal {name!r}; known: {', '.join(SIGNALS)}")
        try:
            suspect, reject = float(t["suspect"]), float(t["reject"])
        except (KeyError, TypeError, ValueError):
            raise QualityError(f"quality threshold {name!r} needs numeric 'suspect' and 'reject'") from None
        high = SIGNALS[name][0] == "high"
        if not (math.isfinite(suspect) and math.isfinite(reject)) or (reject < suspect if high else reject > suspect):
            raise QualityError(f"quality threshold {name!r}: reject {reject} must lie beyond suspect {suspect}")
        out[name] = Threshold(suspect, reject)
    return out


def image_signals(reading, shape_model=None, finding=None, anatomy=None, model_mm_per_pixel=None) -> dict:
    """The ground-truth-free signals of one reading (see ``Predictor.read``), in the model's own orientation and at
    the scale it was read at; ``scale_error`` needs the training anatomy's size (``anatomy``,
    :class:`zoo.quality.scale.AnatomySize`) and the model's pixel size, at which its reading frame is taken to be."""
    out = {"confidence": float(np.mean(reading.coarse_scores))}
    if shape_model is not None:
        out["shape_distance"] = shape_model.distance(reading.points(shape_model.symbols))
    if anatomy is not None and model_mm_per_pixel and anatomy.applies_to(reading.symbols):
        out["scale_error"] = anatomy.scale_error(reading.coords, reading.symbols, model_mm_per_pixel)
    if reading.spread is not None:
        agreed = np.isfinite(reading.spread)
        out["view_spread_px"] = float(np.median(reading.spread[agreed])) if agreed.any() else math.inf
        out["refine_shift_px"] = float(np.median(np.linalg.norm(reading.coords - reading.coarse, axis=1)))
    if finding is not None:
        out["orientation_margin"] = float(finding.margin)
    return out
