"""Pixel size for mm figures: a spacing the user gives, or the ruler the model found (``p1``/``p2``).

A spacing given by the user (``--spacing-mm``, the API's ``spacing_mm``, ``Predictor.predict(spacing_mm=)``,
``zoo analyze --mm-per-pixel``) always wins; next comes the image's own header (a DICOM file's
``ImagerPixelSpacing`` / magnification factor or ``PixelSpacing``, :mod:`zoo.data.dicom`); the ruler comes last,
being two predicted points, and a badly predicted pair once silently overrode a correct given spacing and shrank a
lower face height to a fraction of a centimetre. When both exist both are reported, and a disagreement over
:data:`DISAGREEMENT` is a warning.

Last comes the anatomy's own estimate (``zoo.inference.scale``: the size of the predicted landmarks against the
model's training anatomy). The predictor reads an image of unknown pixel size at the scale it gives, and it is
reported beside the others, with a warning when it disagrees with the one used by more than a skull's size varies
(:data:`ESTIMATE_DISAGREEMENT`) -- a given pixel size that is wrong by half shows there. It never gives mm figures:
a length measured with it would only restate the training skulls' mean size.

A predicted ruler is checked before it is used, with what is known without ground truth
(:func:`read_ruler`); one that fails is reported with the reasons and not used, so mm figures are absent
rather than wrong. Bounds (:data:`FIELD_OF_VIEW_MM`, :data:`CRANIAL_BASE_MM`) are wide on purpose: they
catch gross errors (a ruler off by roughly half or more), not a few percent; a small error is only
visible against a given spacing.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from zoo.clinical.errors import ClinicalError

RULER = ("p1", "p2")

#: a given spacing and the ruler's that differ by more than this fraction (of the given one) are a warning
DISAGREEMENT = 0.05
#: the anatomy's estimate and the pixel size used that differ by more than this fraction are a warning: three
#: standard deviations of a skull's size (6.4 % over ISBI 2015's training images); the predictor passes its own
#: model's (``zoo.quality.scale.AnatomySize.log_sd``)
ESTIMATE_DISAGREEMENT = 0.2

#: the image's longer side in mm at a candidate pixel size. A lateral cephalogram shows at least sella to
#: menton (~120 mm), so a crop to the face is still over 100 mm; detectors and films are at most 35 x 43 cm
#: (430 mm). ISBI 2015 (2400 px at 0.1 mm/px) spans 240 mm, the synthetic set (640 px at ~0.4) 246-269 mm.
#: Per image this is a range of mm/px: 0.042-0.19 for a 2400 px tall image, 0.16-0.70 for a 640 px one,
#: where a fixed range (say 0.05-0.5 mm/px) would be wrong for one of them.
FIELD_OF_VIEW_MM = (100.0, 450.0)

#: sella-nasion (anterior cranial base) in mm, the steadiest length of the skull. Measured on the truth:
#: ISBI 2015 (ages 6-60 at its nominal 0.1 mm/px) 46.7-69.0 mm over its 300 training and test1 images; the
#: synthetic set 62-79 mm; adult norms ~70 mm plus ~10 % radiographic magnification. Only used when both S
#: and N are predicted with confidence.
CRANIAL_BASE_MM = (40.0, 100.0)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _xy(value) -> tuple[float, float] | None:
    """``(x, y)`` from a point, an ``{x, y}`` mapping or None; None when absent or not finite."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = (value.get("x"), value.get("y"))
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def scale_problems(mm_per_pixel: float, points: Mapping, flagged: Iterable[str] = (),
                   image_size: tuple | None = None) -> list[str]:
    """What contradicts a pixel size: the field of view and the sella-nasion length it implies."""
    problems = []
    w, h = image_size if image_size else (None, None)
    if w and h:
        fov = max(float(w), float(h)) * mm_per_pixel
        lo, hi = FIELD_OF_VIEW_MM
        if not lo <= fov <= hi:
            problems.append(f"the image's longer side would be {fov:.0f} mm "
                            f"(a cephalogram spans {lo:g}-{hi:g} mm)")
    flagged = set(flagged)
    s, n = _xy(points.get("S")), _xy(points.get("N"))
    if s is not None and n is not None and not {"S", "N"} & flagged:
        sn = math.hypot(s[0] - n[0], s[1] - n[1]) * mm_per_pixel
        lo, hi = CRANIAL_BASE_MM
        if not lo <= sn <= hi:
            problems.append(f"S-N would be {sn:.1f} mm (plausible {lo:g}-{hi:g} mm)")
    return problems


@dataclass
class RulerReading:
    """The predicted ruler: its length, the pixel size it implies, and why it must not be used (if so),
    including, when a spacing is given, a length more than :data:`DISAGREEMENT` from what that implies."""

    length_mm: float
    length_px: float
    mm_per_pixel: float | None
    low_confidence: bool
    problems: list[str] = field(default_factory=list)
    used: bool = False

    @property
    def plausible(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"length_mm": self.length_mm, "length_px": self.length_px,
                "low_confidence": self.low_confidence, "mm_per_pixel": self.mm_per_pixel,
                "plausible": self.plausible, "problems": list(self.problems), "used": self.used}


def read_ruler(points: Mapping, ruler_mm: float | None, flagged: Iterable[str] = (),
               image_size: tuple | None = None) -> RulerReading | None:
    """The ruler ``p1``/``p2`` with its problems; None when there is no ruler to read (no points or length).

    Problems, each named: p1/p2 flagged low-confidence; a point outside the image (a model may place it in
    the letterbox padding); the points coincide (under 1 px apart); a pixel size that makes the image's
    field of view or the sella-nasion length impossible (:func:`scale_problems`).
    """
    p1, p2 = _xy(points.get("p1")), _xy(points.get("p2"))
    if p1 is None or p2 is None or ruler_mm is None:
        return None
    ruler_mm = float(ruler_mm)
    if not (math.isfinite(ruler_mm) and ruler_mm > 0):
        raise ClinicalError(f"ruler length must be a positive number of mm, got {ruler_mm!r}")
    flagged = set(flagged)
    length = math.hypot(p1[0] - p2[0], p1[1] - p2[1])
    low = sorted(set(RULER) & flagged)
    problems = [f"low-confidence {', '.join(low)}"] if low else []
    if image_size and image_size[0] and image_size[1]:
        w, h = float(image_size[0]), float(image_size[1])
        for name, (x, y) in zip(RULER, (p1, p2)):
            if not (-0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5):
                problems.append(f"{name} ({x:.0f}, {y:.0f}) is outside the {w:.0f}x{h:.0f} image")
    mm_per_pixel = None
    if length < 1.0:
        problems.append(f"p1 and p2 coincide ({length:.2f} px apart)")
    else:
        mm_per_pixel = ruler_mm / length
        problems += [f"at its {_fmt(mm_per_pixel)} mm/px {p}"
                     for p in scale_problems(mm_per_pixel, points, flagged, image_size)]
    return RulerReading(ruler_mm, length, mm_per_pixel, bool(low), problems)


@dataclass
class Calibration:
    """The pixel size used (``None``: mm figures are left out), where it came from, and what was seen."""

    mm_per_pixel: float | None
    source: str | None
    given: float | None = None
    ruler: RulerReading | None = None
    warnings: list[str] = field(default_factory=list)
    #: the pixel size an image's own header gives (a DICOM file's), and which element it came from
    header: float | None = None
    header_source: str | None = None
    #: the anatomy's estimate of the pixel size (never used for mm figures) and what it was measured against
    estimate: float | None = None
    estimate_source: str | None = None

    @property
    def estimate_disagreement(self) -> float | None:
        """``|estimate - used| / used``, when both exist."""
        if self.estimate is None or self.mm_per_pixel is None:
            return None
        return abs(self.estimate - self.mm_per_pixel) / self.mm_per_pixel

    @property
    def disagreement(self) -> float | None:
        """``|ruler - used| / used``, when a ruler pixel size exists beside a given or header one."""
        reference = self.given if self.given is not None else self.header
        if reference is None or self.ruler is None or self.ruler.mm_per_pixel is None:
            return None
        return abs(self.ruler.mm_per_pixel - reference) / reference

    @property
    def header_disagreement(self) -> float | None:
        """``|header - given| / given``, when both exist."""
        if self.given is None or self.header is None:
            return None
        return abs(self.header - self.given) / self.given

    def to_dict(self) -> dict | None:
        """Every pixel size seen, side by side, when there are two or more (the predictions file's
        ``calibration``); ``used`` names the one in ``mm_per_pixel``."""
        seen = [v for v in (self.given, self.header, None if self.ruler is None else self.ruler, self.estimate)
                if v is not None]
        if len(seen) < 2:
            return None
        used = ("given" if self.given is not None else "header" if self.header is not None
                else "ruler" if self.mm_per_pixel is not None else None)
        out = {"given": self.given, "ruler": None if self.ruler is None else self.ruler.mm_per_pixel,
               "disagreement": self.disagreement, "used": used}
        if self.header is not None:
            out.update(header=self.header, header_source=self.header_source,
                       header_disagreement=self.header_disagreement)
        if self.estimate is not None:
            out.update(estimate=self.estimate, estimate_source=self.estimate_source,
                       estimate_disagreement=self.estimate_disagreement)
        return out


def _positive(value, what: str) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value > 0):
        raise ClinicalError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _against_ruler(cal: Calibration, ruler: RulerReading | None, value: float, what: str) -> None:
    """Warn when the ruler contradicts the pixel size in use by more than :data:`DISAGREEMENT`, or is
    implausible on its own; ``what`` names the pixel size in use ('the given', 'the DICOM header's')."""
    if ruler is None:
        return
    said, own = [], list(ruler.problems)
    off_by = None if ruler.mm_per_pixel is None else abs(ruler.mm_per_pixel - value) / value
    if off_by is not None and off_by > DISAGREEMENT:
        off = f"{100 * off_by:.0f} %"
        said.append(f"{what} pixel size {_fmt(value)} mm/px and the ruler's "
                    f"{_fmt(ruler.mm_per_pixel)} mm/px (p1-p2 {ruler.length_px:.1f} px for "
                    f"{ruler.length_mm:g} mm) disagree by {off}")
        ruler.problems.append(f"p1-p2 is {ruler.length_px:.1f} px where {what} {_fmt(value)} mm/px "
                              f"expects {ruler.length_mm / value:.1f} px ({off} off)")
    if own:
        said.append(f"the ruler p1/p2 is implausible ({'; '.join(own)})")
    if said:
        warnings = cal.warnings
        warnings.append("; ".join(said) + f"; {what} {_fmt(value)} mm/px is used: check it, "
                        "or the ruler length and marks")


def calibrate(points: Mapping, flagged: Iterable[str] = (), *, ruler_mm: float | None = None,
              given: float | None = None, given_source: str = "given",
              image_size: tuple | None = None, header: float | None = None,
              header_source: str = "header", estimate: float | None = None, estimate_source: str = "anatomy",
              estimate_tolerance: float = ESTIMATE_DISAGREEMENT) -> Calibration:
    """Choose the pixel size: ``given`` (the user's) if any, else ``header`` (the image's own, e.g. a DICOM
    file's ImagerPixelSpacing / magnification factor, reported as ``header_source``), else the ruler when
    :func:`read_ruler` finds no problem. Each pair of pixel sizes more than :data:`DISAGREEMENT` apart is a
    warning naming both. ``estimate`` (the anatomy's, from ``estimate_source``) is reported beside them and never
    used for mm; more than ``estimate_tolerance`` from the one used is a warning.

    ``points``: symbol -> ``(x, y)`` or ``{x, y}`` in original pixels; ``flagged``: low-confidence symbols;
    ``image_size``: ``(width, height)`` when known. Never raises on a bad ruler: it is reported instead.
    """
    cal = _choose(points, flagged, ruler_mm=ruler_mm, given=given, given_source=given_source, image_size=image_size,
                  header=header, header_source=header_source)
    if estimate is not None:
        cal.estimate, cal.estimate_source = _positive(estimate, "the estimated pixel size"), estimate_source
        off = cal.estimate_disagreement
        if off is not None and off > estimate_tolerance:
            what = {"given": "the given", "ruler": "the ruler's"}.get(cal.source, "the image header's")
            cal.warnings.append(
                f"{what} pixel size {_fmt(cal.mm_per_pixel)} mm/px and the anatomy's {_fmt(cal.estimate)} mm/px "
                f"({estimate_source}) disagree by {100 * off:.0f} %, more than a skull's size varies "
                f"({100 * estimate_tolerance:.0f} %); {what} {_fmt(cal.mm_per_pixel)} mm/px is used: check it")
    return cal


def _choose(points: Mapping, flagged: Iterable[str] = (), *, ruler_mm: float | None = None,
            given: float | None = None, given_source: str = "given",
            image_size: tuple | None = None, header: float | None = None,
            header_source: str = "header") -> Calibration:
    """:func:`calibrate` less the anatomy's estimate."""
    flagged = set(flagged)
    given = None if given is None else _positive(given, "the given pixel size (mm_per_pixel / spacing_mm)")
    header = None if header is None else _positive(header, "the header's pixel size")
    ruler = read_ruler(points, ruler_mm, flagged, image_size)
    warnings: list[str] = []
    if given is not None:
        cal = Calibration(given, given_source, given, ruler, warnings, header, header_source if header else None)
        for problem in scale_problems(given, points, flagged, image_size):
            warnings.append(f"the given pixel size {_fmt(given)} mm/px looks wrong: {problem}; "
                            "it is used as given")
        off = cal.header_disagreement
        if off is not None and off > DISAGREEMENT:
            warnings.append(f"the given pixel size {_fmt(given)} mm/px and the image header's {_fmt(header)} mm/px "
                            f"({header_source}) disagree by {100 * off:.0f} %; the given {_fmt(given)} mm/px is "
                            "used: check which is right")
        _against_ruler(cal, ruler, given, "the given")
        return cal
    if header is not None:
        cal = Calibration(header, header_source, None, ruler, warnings, header, header_source)
        for problem in scale_problems(header, points, flagged, image_size):
            warnings.append(f"the image header's pixel size {_fmt(header)} mm/px ({header_source}) looks wrong: "
                            f"{problem}; it is used as the header says (give --spacing-mm to override it)")
        _against_ruler(cal, ruler, header, "the image header's")
        return cal
    if ruler is None:
        return Calibration(None, None)
    if ruler.problems:
        warnings.append(f"the ruler p1/p2 is not used ({'; '.join(ruler.problems)}); mm values are left out: "
                        "give the pixel size (--spacing-mm / spacing_mm)")
        return Calibration(None, None, None, ruler, warnings)
    ruler.used = True
    return Calibration(ruler.mm_per_pixel, "ruler", None, ruler, warnings)
