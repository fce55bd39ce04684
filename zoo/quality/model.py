"""``zoo_meta['quality']``: the shape model, the verdict thresholds and the uncertainty calibration of one model.

It is written by ``zoo checkpoint calibrate`` (:mod:`zoo.calibration`) from the model's own training
annotations and validation images, and travels in the checkpoint, the weights file and every export, so a model
judges its own answers the same way wherever it runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .gate import SUSPECT, UNCHECKED, Verdict, image_signals, judge, thresholds_from_dict
from .shape import ShapeModel, ShapeModelError
from .uncertainty import UncertaintyError, UncertaintyModel, features

FORMAT = 1
#: an image read at a pixel size this far (as a fraction) from the one the model was calibrated at is suspect: the
#: thresholds and radii describe readings at that pixel size only (the ruler's check uses the same 5 %)
READ_SCALE_TOLERANCE = 0.05


@dataclass(frozen=True)
class Reading:
    """One image read by a model, in the model's own orientation: final and global-stage landmarks (px), their
    scores, and the refine views' spread (None without a refine stage)."""

    symbols: list
    coords: np.ndarray
    scores: np.ndarray
    coarse: np.ndarray
    coarse_scores: np.ndarray
    spread: np.ndarray | None = None

    def features(self) -> np.ndarray:
        return features(self.scores, self.coarse, self.coords, self.spread)

    def points(self, symbols) -> np.ndarray:
        """The final coordinates of ``symbols``, in their order (a shape model's subset)."""
        return self.coords[[self.symbols.index(s) for s in symbols]]


@dataclass(frozen=True)
class QualityModel:
    shape: ShapeModel | None
    thresholds: dict
    uncertainty: UncertaintyModel | None
    calibrated_on: dict
    #: the training anatomy's size (``zoo_meta['anatomy']``, :mod:`zoo.quality.scale`) and the model's pixel size,
    #: which the predictor adds (:meth:`with_scale`): what ``scale_error`` measures a reading against
    anatomy: object = None
    model_mm_per_pixel: float | None = None

    def with_scale(self, anatomy, model_mm_per_pixel: float | None) -> QualityModel:
        return replace(self, anatomy=anatomy, model_mm_per_pixel=model_mm_per_pixel)

    @property
    def calibrated_mm_per_pixel(self) -> float | None:
        """The pixel size the validation images were read at (recorded since #39), else the model's own."""
        recorded = self.calibrated_on.get("read_mm_per_pixel")
        return float(recorded) if recorded else self.model_mm_per_pixel

    def assess(self, reading: Reading, finding=None, read_mm_per_pixel: float | None = None,
               read_source: str | None = None) -> Verdict:
        """The verdict on one reading; ``unchecked`` when the block holds no thresholds (a model calibrated on too few
        images keeps its uncertainty radii, but nothing it saw says where a readable image ends).

        ``read_mm_per_pixel``: the pixel size the reading was made at, when known (the image's, from
        ``read_source``, divided by the predictor's resampling factor); one more than
        :data:`READ_SCALE_TOLERANCE` from the calibrated one makes the image at least suspect. A model calibrated
        before ``scale_error`` existed judges it with :meth:`AnatomySize.default_threshold`."""
        signals = image_signals(reading, self.shape, finding, self.anatomy, self.model_mm_per_pixel)
        if not self.thresholds:
            return Verdict(UNCHECKED, ["the model's calibration holds no verdict thresholds (too few validation "
                                       "images when it was calibrated), so nothing checks that this image is a "
                                       "cephalogram it can read"], dict(signals))
        thresholds = self.thresholds
        if "scale_error" in signals and "scale_error" not in thresholds:
            thresholds = {**thresholds, "scale_error": self.anatomy.default_threshold()}
        flags = []
        calibrated = self.calibrated_mm_per_pixel
        if read_mm_per_pixel and calibrated and abs(read_mm_per_pixel / calibrated - 1) > READ_SCALE_TOLERANCE:
            flags.append((SUSPECT, f"read at {read_mm_per_pixel:.4g} mm/px ({read_source or 'known'}), where the "
                                   f"model was calibrated at {calibrated:.4g} mm/px: nothing says how well it reads "
                                   f"there"))
        off = self.shape.off_shape(reading.points(self.shape.symbols)) if self.shape is not None else []
        return judge(signals, thresholds, off, flags)

    def radii(self, reading: Reading) -> np.ndarray | None:
        """(K,) px radius holding each landmark's truth with the calibrated coverage, or None."""
        return None if self.uncertainty is None else self.uncertainty.radius(reading.features())

    def to_dict(self) -> dict:
        return {"format": FORMAT, "shape": self.shape.to_dict() if self.shape else None,
                "thresholds": {k: {"suspect": float(t.suspect), "reject": float(t.reject)}
                               for k, t in self.thresholds.items()},
                "uncertainty": self.uncertainty.to_dict() if self.uncertainty else None,
                "calibrated_on": dict(self.calibrated_on)}

    @classmethod
    def from_dict(cls, d: dict, symbols) -> QualityModel:
        """Read and check a model file's ``quality`` block against the model's landmarks."""
        from .gate import QualityError

        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise QualityError(f"quality block of format {d.get('format') if isinstance(d, dict) else d!r}; this "
                               f"zoo reads format {FORMAT} (run `zoo checkpoint calibrate` again)")
        try:
            shape = ShapeModel.from_dict(d["shape"]) if d.get("shape") else None
            uncertainty = UncertaintyModel.from_dict(d["uncertainty"], len(symbols)) if d.get("uncertainty") else None
        except (ShapeModelError, UncertaintyError) as exc:
            raise QualityError(str(exc)) from None
        if shape is not None and not set(shape.symbols) <= set(symbols):
            raise QualityError(f"the shape model names landmarks the model does not: "
                               f"{sorted(set(shape.symbols) - set(symbols))}")
        return cls(shape, thresholds_from_dict(d.get("thresholds")), uncertainty, dict(d.get("calibrated_on") or {}))


def unchecked() -> Verdict:
    return Verdict(UNCHECKED, ["the model carries no quality calibration (`zoo checkpoint calibrate` adds one), so "
                               "nothing checks that this image is a cephalogram it can read"])
