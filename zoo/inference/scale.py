"""Millimetres inside the predictor: the pixel size a model reads at, and the scale each image is read at.

A two-stage model's refine stage cuts fixed-size patches in pixels, so a model trained at 0.1 mm/px reads an image of
0.2 mm/px with every patch seeing twice the anatomy it learnt on (#39: ``isbi19`` at 2.2-3.9 mm MRE there). The
predictor therefore reads every image at the model's training pixel size: with the image's pixel size known (given,
a DICOM header, a dataset's spacing, a plausible ruler) or estimated (the global stage's landmarks against the
training anatomy's size, :mod:`zoo.quality.scale`), the image is read as if resampled by ``factor = image mm/px /
model mm/px`` and the landmarks are mapped back to its own pixels.

The resampling is exact and costs nothing extra: the global stage letterboxes the whole image to its input size,
which a resized copy of the image would reach by the same warp, and the refine stage cuts its patches through a warp
from the resampled frame to the image (``zoo.data.patches``), so no resampled copy of the image (four times the
pixels at 0.2 mm/px) is ever made. The readings (refine views' spread, shift, the uncertainty's radii) are in the
resampled frame, the model's own pixels, where the quality gate's thresholds were set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from zoo.structures import resample_warp

#: how the predictor treats an image's scale: ``auto`` reads it at the model's pixel size (given, header, ruler or
#: estimated); ``fixed`` reads it as it lies, as the zoo did before #39 (the gate still flags a wrong scale)
SCALE_MODES = ("auto", "fixed")
#: sources of a pixel size that was measured, not estimated from the anatomy
ESTIMATE = "anatomy"
__all__ = ["ESTIMATE", "SCALE_MODES", "ScaleReading", "factor_for", "model_anatomy", "model_pixel_size",
           "resample_warp"]


def _train_dataset(meta: dict):
    config = meta.get("config")
    loader = config.get("train_dataloader") if isinstance(config, dict) else None
    return loader.get("dataset") if isinstance(loader, dict) else None


def model_pixel_size(meta: dict) -> tuple[float | None, str | None]:
    """``(mm per pixel, where it came from)`` the model was trained at: ``preprocess.train_mm_per_pixel`` (written
    since #39), else what its stored config's training dataset states for every image (the shipped ``isbi19``:
    ``ISBI2015Dataset``, 0.1 mm/px); ``(None, None)`` when neither says."""
    from zoo.data.datasets.declared import declared_spacing

    value = (meta.get("preprocess") or {}).get("train_mm_per_pixel")
    if value:
        return float(value), "preprocess.train_mm_per_pixel"
    dataset = _train_dataset(meta)
    value = declared_spacing(dataset) if dataset else None
    if value:
        return value, f"the stored config's training dataset ({dataset.get('type')})"
    return None, None


def model_anatomy(meta: dict, symbols):
    """The training anatomy's size (:class:`zoo.quality.scale.AnatomySize`): ``zoo_meta['anatomy']``, else the one
    the stored config's training reader declares (``ISBI2015Dataset.ANATOMY``), else None."""
    from zoo.data.datasets.declared import declared_anatomy
    from zoo.quality.scale import AnatomyError, AnatomySize

    stored = meta.get("anatomy")
    if stored:
        return AnatomySize.from_dict(stored, symbols)  # check_meta has checked it
    dataset = _train_dataset(meta)
    declared = declared_anatomy(dataset) if dataset else None
    if not declared:
        return None
    try:
        return AnatomySize.from_dict(declared, symbols)
    except AnatomyError:  # the reader's set is not the model's (a model of another landmark set)
        return None


@dataclass
class ScaleReading:
    """How one image's scale was read: ``entry['scale']`` of a prediction.

    ``image_mm_per_pixel`` and ``source``: the image's pixel size as the predictor took it (``given``, a DICOM
    header's ``dicom:...``, ``dataset``, ``ruler``, ``anatomy`` for the estimate; None: unknown); ``factor``: model
    px per image px the image was read at (1: as it lies); ``estimate_mm_per_pixel``: the anatomy's estimate,
    reported whenever it could be measured."""

    mode: str
    model_mm_per_pixel: float | None
    model_source: str | None
    image_mm_per_pixel: float | None = None
    source: str | None = None
    factor: float = 1.0
    estimate_mm_per_pixel: float | None = None
    estimate_source: str | None = None
    note: str | None = None

    @property
    def measured(self) -> bool:
        """Whether the image's pixel size was measured (given, header, dataset, ruler), not estimated."""
        return self.image_mm_per_pixel is not None and self.source != ESTIMATE

    @property
    def read_mm_per_pixel(self) -> float | None:
        """The pixel size the image was read at, when the image's own is measured (what the gate holds against the
        calibrated one; an estimate is the anatomy's, which ``scale_error`` judges)."""
        return self.image_mm_per_pixel / self.factor if self.measured else None

    def to_dict(self) -> dict:
        def r(v):
            return None if v is None else float(f"{v:.6g}")

        out = {"mode": self.mode, "model_mm_per_pixel": r(self.model_mm_per_pixel), "model_source": self.model_source,
               "image_mm_per_pixel": r(self.image_mm_per_pixel), "source": self.source, "factor": r(self.factor),
               "read_mm_per_pixel": r(None if self.image_mm_per_pixel is None
                                      else self.image_mm_per_pixel / self.factor),
               "estimate_mm_per_pixel": r(self.estimate_mm_per_pixel), "estimate_source": self.estimate_source}
        if self.note:
            out["note"] = self.note
        return out


def factor_for(image_mm: float, model_mm: float, tolerance: float = 0.0) -> float:
    """Model px per image px; 1 when within ``tolerance`` (a fraction, on the log scale) of the model's."""
    factor = image_mm / model_mm
    return 1.0 if abs(math.log(factor)) <= tolerance else factor
