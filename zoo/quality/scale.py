"""The anatomy's size in millimetres: how a model tells the pixel size of an image nobody measured, and how the gate
tells an image read at a scale the model never learnt.

A two-stage model's refine stage cuts patches of a fixed size in pixels, so it reads an image well only at the pixel
size it was trained at: ``isbi19`` (0.1 mm/px) read ISBI cephalograms resized to 0.2 mm/px at 2.2-3.9 mm MRE (#39),
each patch seeing twice the anatomy it learnt on. When nobody says how large a pixel is (no spacing given, no DICOM
header, no ruler), the skull is the one ruler every cephalogram carries: the size of the landmarks' constellation
(their RMS distance from their centroid, :func:`constellation_size`) varies among patients by 6-7 % (sd) -- over
the 300 ISBI 2015 training and Test1 annotations (ages 6-60) it is 44.4 +- 2.8 and 44.9 +- 3.2 mm, as steady as
sella-nasion alone (59.0 +- 3.3 mm) and unlike one distance, steady whichever landmark is misplaced. The global stage
reads the whole letterboxed image, whatever its pixel size, so its first answer measures that size well enough to
say at what pixel size to read the image again.

An :class:`AnatomySize` is the training anatomy's size, written into a model file (``zoo_meta['anatomy']``) when it
is trained or calibrated. The same size tells the gate (``scale_error``) when an image was read at the wrong scale:
a given pixel size that is wrong, or a model that could not resample, leaves the anatomy far larger or smaller than
any it was trained on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zoo.registry import ZooError

from .gate import Threshold

#: ruler points are no anatomy: where a ruler hangs says nothing about the skull's size
RULER = ("p1", "p2")
#: the shape model's minimum, for the same reason: fewer shapes say little about a population
MIN_SHAPES = 10
#: plausible bounds of the constellation's size, for checking a stored one: ISBI's 19 landmarks span ~44 mm, a
#: subset of three close ones might span a few, and nothing on a 450 mm film spans more than 300
SIZE_RANGE_MM = (1.0, 300.0)
#: where :func:`default_threshold` puts ``suspect`` and ``reject``, in sds of the anatomy's log size: what
#: ``zoo checkpoint calibrate``'s rule (6 and 12 robust sds beyond the clean median, ``zoo.calibration``) gives on
#: clean reads whose ``|ln(size / mean)|`` is half-normal with that sd (median 0.674 sd, robust sd 0.592 sd)
DEFAULT_SUSPECT_SD, DEFAULT_REJECT_SD = 4.22, 7.77
#: the least spread :func:`AnatomySize.default_threshold` assumes: a pixel size stated to two digits and a global
#: stage's few-pixel errors change a measured size by about this much, so a training set of near-identical skulls
#: (a synthetic one) must not make every other skull "the wrong scale"
MIN_LOG_SD = 0.03


class AnatomyError(ZooError):
    """A stored anatomy size is malformed, or the shapes given cannot make one."""


def constellation_size(points) -> float:
    """RMS distance of (L, 2) points from their centroid (in their unit); NaN when a point is not finite."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return math.nan
    centred = pts - pts.mean(axis=0)
    return float(np.sqrt((centred ** 2).sum(axis=1).mean()))


@dataclass(frozen=True)
class AnatomySize:
    """The training anatomy's constellation size in mm.

    Args:
        symbols: the landmarks measured (the model's, less the ruler's), in the model's order.
        mean_mm, sd_mm: mean and standard deviation of :func:`constellation_size` over the training shapes, each in
            mm at its own image's pixel size.
        num_shapes: how many fully labelled shapes with a known pixel size it was measured on.
        source: what it was measured on, for a person.
    """

    symbols: tuple
    mean_mm: float
    sd_mm: float
    num_shapes: int
    source: str = ""

    @property
    def log_sd(self) -> float:
        """The sd of the log size: how far one anatomy's size strays, as a fraction."""
        return self.sd_mm / self.mean_mm

    def applies_to(self, symbols) -> bool:
        return set(self.symbols) <= set(symbols)

    def size_px(self, coords, symbols) -> float:
        """The constellation size of ``coords`` ((K, 2), in the order of ``symbols``), in their pixels."""
        index = [list(symbols).index(s) for s in self.symbols]
        return constellation_size(np.asarray(coords, np.float64)[index])

    def mm_per_pixel(self, coords, symbols) -> float | None:
        """The pixel size at which ``coords`` would be an anatomy of the training mean size; None when unmeasurable."""
        size = self.size_px(coords, symbols)
        return self.mean_mm / size if math.isfinite(size) and size > 1e-6 else None

    def scale_error(self, coords, symbols, mm_per_pixel: float) -> float:
        """How many times larger or smaller than the training mean the anatomy is, read at ``mm_per_pixel``:
        ``max(r, 1/r)`` of ``r = size * mm_per_pixel / mean_mm`` (1: the mean size; inf when unmeasurable)."""
        size = self.size_px(coords, symbols)
        if not (math.isfinite(size) and size > 1e-6):
            return math.inf
        return float(math.exp(abs(math.log(size * mm_per_pixel / self.mean_mm))))

    def default_threshold(self) -> Threshold:
        """``scale_error``'s thresholds for a model calibrated before the signal existed (see
        :data:`DEFAULT_SUSPECT_SD`); ``zoo checkpoint calibrate`` fits them on the validation reads instead."""
        sd = max(self.log_sd, MIN_LOG_SD)
        return Threshold(math.exp(DEFAULT_SUSPECT_SD * sd), math.exp(DEFAULT_REJECT_SD * sd))

    @classmethod
    def fit(cls, shapes, labelled, spacings, symbols, source: str = "") -> AnatomySize | None:
        """From (N, K, 2) training shapes in px, (N, K) labelled and (N,) mm per pixel (NaN/None: unknown); None when
        fewer than :data:`MIN_SHAPES` are fully labelled with a known pixel size (the model's scale is then
        unknown)."""
        keep = [i for i, s in enumerate(symbols) if s not in RULER]
        if len(keep) < 3:
            return None
        shapes = np.asarray(shapes, np.float64)[:, keep]
        full = np.asarray(labelled, bool)[:, keep].all(axis=1)
        mm = np.array([math.nan if v is None else float(v) for v in spacings], np.float64)
        use = full & np.isfinite(mm) & (mm > 0)
        if use.sum() < MIN_SHAPES:
            return None
        sizes = np.array([constellation_size(s) for s in shapes[use]]) * mm[use]
        sizes = sizes[np.isfinite(sizes)]
        if len(sizes) < MIN_SHAPES:
            return None
        return cls(tuple(symbols[i] for i in keep), round(float(sizes.mean()), 4), round(float(sizes.std(ddof=1)), 4),
                   int(len(sizes)), source)

    def to_dict(self) -> dict:
        return {"symbols": list(self.symbols), "mean_mm": float(self.mean_mm), "sd_mm": float(self.sd_mm),
                "num_shapes": int(self.num_shapes), "source": str(self.source)}

    @classmethod
    def from_dict(cls, d, symbols=None) -> AnatomySize:
        """The inverse of :meth:`to_dict`, checked (it comes from a model file or a dataset reader); with ``symbols``
        (the model's landmarks) the measured ones must be among them."""
        try:
            names = tuple(str(s) for s in d["symbols"])
            mean, sd, num = float(d["mean_mm"]), float(d["sd_mm"]), int(d["num_shapes"])
            source = str(d.get("source") or "")
        except (KeyError, TypeError, ValueError) as exc:
            raise AnatomyError(f"the anatomy size is incomplete or malformed ({type(exc).__name__}: {exc})") from None
        lo, hi = SIZE_RANGE_MM
        if len(names) < 3 or len(set(names)) != len(names) or set(names) & set(RULER):
            raise AnatomyError(f"the anatomy size must measure 3 or more distinct anatomical landmarks, got {names}")
        if not (lo <= mean <= hi and 0 <= sd < mean and num >= 1):
            raise AnatomyError(f"the anatomy size needs mean_mm in {lo:g}-{hi:g}, 0 <= sd_mm < mean_mm and "
                               f"num_shapes >= 1, got mean_mm={mean!r}, sd_mm={sd!r}, num_shapes={num!r}")
        if symbols is not None and not set(names) <= set(symbols):
            raise AnatomyError(f"the anatomy size measures landmarks the model does not find: "
                               f"{sorted(set(names) - set(symbols))}")
        return cls(names, mean, sd, num, source)
