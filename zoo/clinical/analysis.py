"""``analyze``: landmarks in, a clinician's table out (value, norm, deviation, class or interpretation).

The same :meth:`Analysis.to_dict` block is what ``zoo analyze``, ``zoo predict --analyze`` and the
HTTP API return. A row whose landmarks are missing, flagged low-confidence, or which needs a pixel size
that is unknown stays in the table, marked unavailable with the reason: a silent gap reads as "normal".
An image the quality gate rejected (:mod:`zoo.quality`) keeps every row, each unavailable with that reason.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from zoo.clinical.calibration import Calibration, calibrate
from zoo.clinical.errors import ClinicalError
from zoo.clinical.isbi import ISBI_MEASUREMENTS
from zoo.clinical.measurements import STANDARD, Measurement
from zoo.clinical.norms import Norm, Norms, load_norms
from zoo.quality import REJECT, SUSPECT

#: Every measurement :func:`analyze` knows, in table order.
MEASUREMENTS: tuple[Measurement, ...] = STANDARD + ISBI_MEASUREMENTS

#: Landmark pairs that point from posterior to anterior; the first pair present tells the profile's facing.
_FACING_PAIRS = (("S", "N"), ("PNS", "ANS"), ("Po", "Or"), ("Ar", "Pog"), ("Go", "Pog"), ("Go", "Me"))


@dataclass
class Row:
    """One measurement's result; ``value`` is ``None`` when unavailable and ``reason`` says why."""

    key: str
    name: str
    analysis: str
    unit: str
    landmarks: tuple[str, ...]
    value: float | None = None
    norm: Norm | None = None
    normal_range: str | None = None
    deviation: float | None = None
    class_id: int | None = None
    interpretation: str | None = None
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict:
        return {
            "key": self.key, "name": self.name, "analysis": self.analysis, "unit": self.unit,
            "landmarks": list(self.landmarks), "available": self.available, "value": self.value,
            "norm": self.norm.to_dict() if self.norm else None, "normal_range": self.normal_range,
            "deviation_sd": self.deviation, "class": self.class_id,
            "interpretation": self.interpretation, "reason": self.reason,
        }


@dataclass
class Analysis:
    """All rows for one image, plus how lengths were scaled and which norms were used."""

    rows: list[Row]
    mm_per_pixel: float | None
    mm_per_pixel_source: str | None
    norms: str
    facing: str
    notes: list[str] = field(default_factory=list)
    calibration: Calibration | None = None
    #: what the table means beyond its rows, as opposed to the notes' warnings: the measurements the model's landmark
    #: set can never give, and why one angle can read normal in one row and not in another
    remarks: list[str] = field(default_factory=list)

    def __getitem__(self, key: str) -> Row:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"no measurement {key!r}; known: {', '.join(r.key for r in self.rows)}")

    def values(self) -> dict[str, float | None]:
        return {r.key: r.value for r in self.rows}

    def to_dict(self) -> dict:
        out = {
            "norms": self.norms, "mm_per_pixel": self.mm_per_pixel,
            "mm_per_pixel_source": self.mm_per_pixel_source, "profile_facing": self.facing,
            "notes": list(self.notes), "remarks": list(self.remarks),
            "measurements": [r.to_dict() for r in self.rows],
        }
        cal = self.calibration
        if cal is not None and cal.ruler is not None:
            out["ruler"] = cal.ruler.to_dict()
        if cal is not None and cal.to_dict() is not None:
            out["calibration"] = cal.to_dict()
        return out

    def _cells(self) -> list[list[str]]:
        out = []
        for r in self.rows:
            if r.available:
                dev = f"{r.deviation:+.1f}" if r.deviation is not None else ""
                cls = f"{r.class_id}: " if r.class_id is not None else ""
                out.append([r.analysis, r.name, f"{r.value:.2f}", r.unit, r.normal_range or "", dev,
                            cls + (r.interpretation or "")])
            else:
                out.append([r.analysis, r.name, "n/a", r.unit, r.normal_range or "", "",
                            f"unavailable: {r.reason}"])
        return out

    _HEADERS = ["analysis", "measurement", "value", "unit", "norm", "dev (SD)", "class / interpretation"]

    def to_markdown(self) -> str:
        lines = ["| " + " | ".join(self._HEADERS) + " |", "|" + "---|" * len(self._HEADERS)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self._cells()]
        return "\n".join([*lines, *(f"\n_{n}_" for n in [*self.notes, *self.remarks])])

    def to_text(self) -> str:
        rows = [self._HEADERS, *self._cells()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(self._HEADERS) - 1)]
        lines = []
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[-1]))
        return "\n".join([*(line.rstrip() for line in lines), *self.notes, *self.remarks])

    __str__ = to_text


def _parse_landmarks(landmarks: Mapping, low_confidence: Iterable[str]) -> tuple[dict[str, np.ndarray], set[str]]:
    """Coordinates of the usable landmarks and the set flagged low-confidence."""
    if not isinstance(landmarks, Mapping):
        raise ClinicalError(f"landmarks must be a mapping symbol -> (x, y) or {{x, y}}, got {type(landmarks).__name__}")
    points, flagged = {}, set(low_confidence or ())
    for sym, v in landmarks.items():
        if v is None:
            continue
        if isinstance(v, Mapping):
            if v.get("low_confidence"):
                flagged.add(sym)
            xy = (v.get("x"), v.get("y"))
        else:
            xy = tuple(v) if isinstance(v, (list, tuple, np.ndarray)) else (v,)
        if len(xy) != 2:
            raise ClinicalError(f"landmark {sym!r}: expected two coordinates, got {v!r}")
        if any(c is None for c in xy):
            continue
        try:
            x, y = float(xy[0]), float(xy[1])
        except (TypeError, ValueError):
            raise ClinicalError(f"landmark {sym!r}: coordinates must be numbers, got {v!r}") from None
        if math.isfinite(x) and math.isfinite(y):
            points[sym] = np.array([x, y], dtype=np.float64)
    return points, flagged


def profile_facing(points: Mapping[str, np.ndarray]) -> str | None:
    """'right' or 'left' from the first posterior->anterior landmark pair present, else None."""
    for a, b in _FACING_PAIRS:
        if a in points and b in points and points[a][0] != points[b][0]:
            return "right" if points[b][0] > points[a][0] else "left"
    return None


def _evaluate(m: Measurement, points, flagged, scale, norms: Norms) -> Row:
    norm = norms.get(m.key)
    row = Row(m.key, m.name, m.analysis, m.unit, m.needs, norm=norm,
              normal_range=m.rule.normal if m.rule else (str(norm) if norm else None))
    missing = [s for s in m.needs if s not in points]
    low = [s for s in m.needs if s in flagged and s in points]
    if missing:
        row.reason = f"missing landmark{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
    elif low:
        row.reason = f"low-confidence landmark{'s' if len(low) > 1 else ''}: {', '.join(low)}"
    elif m.needs_scale and scale is None:
        row.reason = "needs the pixel size in mm (no mm_per_pixel and no usable p1/p2 ruler calibration)"
    if row.reason:
        return row
    try:
        value = float(m.compute(points))
    except (ValueError, ZeroDivisionError) as exc:  # coincident landmarks: a zero-length line or ratio base
        row.reason = f"degenerate geometry: {exc}"
        return row
    if not math.isfinite(value):
        row.reason = "degenerate geometry: the value is not finite"
        return row
    if m.needs_scale:
        value *= scale
    row.value = value
    if m.rule is not None:
        row.class_id, row.interpretation = m.rule.classify(value)
    elif norm is not None:
        row.deviation = norm.deviation(value)
        row.interpretation = {0: "within norm", -1: m.low, 1: m.high}[norm.position(value)]
    return row


def analyze(
    landmarks: Mapping,
    mm_per_pixel: float | None = None,
    norms: str | Norms | dict | None = None,
    low_confidence: Iterable[str] = (),
    *,
    ruler_mm: float | None = None,
    mm_per_pixel_source: str | None = None,
    measurements: Iterable[Measurement] | None = None,
    image_size: tuple | None = None,
    landmark_set: Iterable[str] | None = None,
) -> Analysis:
    """Compute every measurement the landmarks allow.

    ``landmarks``: ``symbol -> (x, y)`` or ``symbol -> {"x", "y", "confidence", "low_confidence"}``
    (a predictions-file entry's ``landmarks``), in original image pixels. ``mm_per_pixel``: pixel size,
    or ``None`` (then ``ruler_mm`` with landmarks ``p1``/``p2`` calibrates it when the ruler is plausible,
    see :mod:`zoo.clinical.calibration`, else mm rows are unavailable); given with a ruler, the given size
    wins and a disagreement is noted. ``image_size``: ``(width, height)``, for the ruler's checks.
    ``norms``: built-in name, file path, mapping or :class:`Norms` (default ``classic``).
    ``low_confidence``: symbols to treat as unusable, on top of those flagged in ``landmarks``.
    A left-facing profile is mirrored first, so every sign convention is anatomical.
    ``landmark_set``: the symbols the model finds; a measurement needing another is left out of the table and named
    once in the remarks (a landmark a model can find but did not, or found weakly, still gets its row and reason).
    """
    points, flagged = _parse_landmarks(landmarks, low_confidence)
    table = load_norms(norms)
    cal = calibrate(points, flagged, ruler_mm=ruler_mm, given=mm_per_pixel,
                    given_source=mm_per_pixel_source or "given", image_size=image_size)
    scale, source = cal.mm_per_pixel, cal.source
    notes = list(cal.warnings)
    facing = profile_facing(points)
    if facing is None:
        facing = "unknown"
        notes.append("profile direction unknown (no S/N, PNS/ANS or Po/Or pair); assumed facing right")
    if facing == "left":
        points = {k: np.array([-v[0], v[1]]) for k, v in points.items()}
    chosen, remarks = list(measurements or MEASUREMENTS), []
    if landmark_set is not None:  # what the model can never find is said once, not as one empty row per measurement
        known = set(landmark_set)
        beyond = [m for m in chosen if not set(m.needs) <= known]
        chosen = [m for m in chosen if set(m.needs) <= known]
        if beyond:
            lacking = sorted({s for m in beyond for s in m.needs if s not in known})
            remarks.append(f"not measurable with this model's {len(known)} landmarks (it never finds "
                           f"{', '.join(lacking)}): {', '.join(m.name for m in beyond)}")
    rows = [_evaluate(m, points, flagged, scale, table) for m in chosen]
    remarks += _reference_notes(rows, table.name)
    return Analysis(rows, scale, source, table.name, facing, notes, cal, remarks)


def _reference_notes(rows: list[Row], norms_name: str) -> list[str]:
    """Why one angle can be "within norm" in one row and out of class 1 in another: the ISBI 2015 classes re-measure
    ANB, SNA and SNB against the challenge's own bands, not a clinical norm. Said where the two verdicts differ."""
    by_key = {r.key: r for r in rows}
    notes = []
    for r in rows:
        if not r.key.startswith("ISBI:") or not r.available:
            continue
        clinical = by_key.get(r.key.split(":", 1)[1])
        if clinical is None or not clinical.available or clinical.norm is None or clinical.analysis == r.analysis:
            continue
        clinically_normal = clinical.interpretation == "within norm"
        if clinically_normal == (r.class_id == 1):
            continue
        notes.append(f"{clinical.name} {r.value:.2f} {r.unit} is {clinical.interpretation} by {clinical.analysis}'s "
                     f"norm ({clinical.norm}: mean and SD in the '{norms_name}' norms) but {r.interpretation} in the "
                     f"ISBI 2015 classes, whose class 1 is {r.normal_range} {r.unit}: bands drawn for the challenge's "
                     f"classification task, not a clinical norm. The same angle, two references.")
    return notes


def _model_symbols(entry: Mapping) -> list[str] | None:
    """The landmarks the model behind a predictions entry finds: its landmark set's, when the entry names a set this
    zoo knows; else None (nothing is left out)."""
    from zoo.data.errors import DataError
    from zoo.data.landmark_sets import get_landmark_set

    name = entry.get("landmark_set")
    if not isinstance(name, str) or not name:
        return None
    try:
        return list(get_landmark_set(name).symbols)
    except (DataError, OSError, ValueError):
        return None


def analyze_prediction(entry: Mapping, norms=None, *, ruler_mm: float | None = None,
                       where: str = "prediction") -> Analysis:
    """Analyse one entry of a predictions file's ``predictions`` list (the format ``zoo predict --out`` writes,
    :class:`zoo.serve.schemas.Prediction`).

    The entry's pixel size is taken as given unless it came from the ruler: a ruler scale is checked again
    from ``p1``/``p2`` (files written before rulers were checked carry unchecked ones), and a ruler the
    entry flags low-confidence is not used. An entry whose ``quality`` status is ``reject`` gets every row
    unavailable (its landmarks do not read as a cephalogram the model knows); a ``suspect`` one is measured,
    with a note saying why it is suspect.
    """
    if not isinstance(entry, Mapping) or not isinstance(entry.get("landmarks"), Mapping):
        raise ClinicalError(f"{where}: expected an object with a 'landmarks' mapping")
    ruler = entry.get("ruler") if isinstance(entry.get("ruler"), Mapping) else {}
    ruler_length = ruler_mm if ruler_mm is not None else ruler.get("length_mm")
    scale, source = entry.get("mm_per_pixel"), entry.get("mm_per_pixel_source")
    landmarks = entry["landmarks"]
    recheck = source == "ruler" and ruler_length is not None and "p1" in landmarks and "p2" in landmarks
    given = None if recheck else scale
    low = ("p1", "p2") if ruler.get("low_confidence") else ()
    width, height = entry.get("width"), entry.get("height")
    size = (width, height) if isinstance(width, (int, float)) and isinstance(height, (int, float)) else None
    try:
        result = analyze(landmarks, given, norms, low, ruler_mm=ruler_length,
                         mm_per_pixel_source=source if given is not None else None, image_size=size,
                         landmark_set=_model_symbols(entry))
    except ClinicalError as exc:
        raise ClinicalError(f"{where}: {exc.message}") from None
    quality = entry.get("quality") if isinstance(entry.get("quality"), Mapping) else {}
    reasons = [str(r) for r in quality.get("reasons") or ()]
    if quality.get("status") == REJECT:
        why = "image rejected by the quality gate"
        result.rows = [replace(r, value=None, deviation=None, class_id=None, interpretation=None, reason=why)
                       for r in result.rows]
        result.notes.insert(0, f"{why} ({'; '.join(reasons) or 'no reason given'}); no measurement is made from "
                               f"its landmarks")
    elif quality.get("status") == SUSPECT:
        result.notes.insert(0, f"quality gate: suspect ({'; '.join(reasons) or 'no reason given'})")
    return result
