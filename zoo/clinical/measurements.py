"""The standard cephalometric analyses as data: one :class:`Measurement` per row of a clinician's sheet.

Every function here takes a mapping ``symbol -> np.ndarray([x, y])`` of a profile that faces **right**
(anterior = +x, y down; :func:`zoo.clinical.analysis.analyze` mirrors a left-facing one first), so the
anatomical sign conventions below hold on every image. Lengths come back in pixels; a measurement
whose unit is ``mm`` is scaled by the caller, which knows the pixel size.

Each measurement names the landmark symbols it needs (symbols are shared across landmark sets), so
any set that has them can use it, and a set that lacks one gets the row reported as unavailable.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from zoo.clinical import geometry as g

Points = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class ClassRule:
    """A fixed classification of a value (the ISBI 2015 challenge's rules): ``classify(value) -> (class, label)``."""

    normal: str
    classify: Callable[[float], tuple[int, str]]


@dataclass(frozen=True)
class Measurement:
    """One cephalometric measurement: what it needs and how to compute it.

    ``compute`` returns degrees for ``deg``, pixels for ``mm`` (scaled by the caller), a plain number
    for ``%`` and ``ratio``. ``low``/``high`` say what a value below/above the norm means.
    """

    key: str
    name: str
    analysis: str
    needs: tuple[str, ...]
    unit: str
    compute: Callable[[Points], float]
    description: str
    low: str = "decreased"
    high: str = "increased"
    rule: ClassRule | None = None

    @property
    def needs_scale(self) -> bool:
        return self.unit == "mm"


def _fh(p: Points) -> np.ndarray:
    """Frankfort horizontal pointing forward, Po -> Or."""
    return g.vec(p["Po"], p["Or"])


def _anb(p: Points) -> float:
    return g.angle_at(p["S"], p["N"], p["A"]) - g.angle_at(p["S"], p["N"], p["B"])


STANDARD: tuple[Measurement, ...] = (
    # --- Steiner -----------------------------------------------------------------------------
    Measurement("SNA", "SNA", "Steiner", ("S", "N", "A"), "deg",
                lambda p: g.angle_at(p["S"], p["N"], p["A"]),
                "Angle S-N-A: sagittal position of the maxilla relative to the cranial base.",
                "retrognathic maxilla", "prognathic maxilla"),
    Measurement("SNB", "SNB", "Steiner", ("S", "N", "B"), "deg",
                lambda p: g.angle_at(p["S"], p["N"], p["B"]),
                "Angle S-N-B: sagittal position of the mandible relative to the cranial base.",
                "retrognathic mandible", "prognathic mandible"),
    Measurement("ANB", "ANB", "Steiner", ("S", "N", "A", "B"), "deg", _anb,
                "SNA - SNB: sagittal jaw relation; negative when B lies ahead of A.",
                "skeletal Class III tendency", "skeletal Class II tendency"),
    Measurement("SN-MP", "SN-MP (SN to Go-Gn)", "Steiner", ("S", "N", "Go", "Gn"), "deg",
                lambda p: g.signed_angle(g.vec(p["S"], p["N"]), g.vec(p["Go"], p["Gn"])),
                "Mandibular plane (Go-Gn) to S-N; positive when the plane slopes down anteriorly.",
                "hypodivergent (low angle)", "hyperdivergent (high angle)"),
    # --- Downs -------------------------------------------------------------------------------
    Measurement("FacialAngle", "Facial angle (FH to N-Pog)", "Downs", ("Po", "Or", "N", "Pog"), "deg",
                lambda p: g.angle(g.vec(p["Or"], p["Po"]), g.vec(p["N"], p["Pog"])),
                "Inferior-posterior angle between Frankfort and the facial plane N-Pog.",
                "retrusive chin", "protrusive chin"),
    Measurement("Convexity", "Angle of convexity (N-A-Pog)", "Downs", ("N", "A", "Pog"), "deg",
                lambda p: g.signed_angle(g.vec(p["N"], p["A"]), g.vec(p["A"], p["Pog"])),
                "180 - N-A-Pog; positive when A lies ahead of N-Pog (convex profile).",
                "concave skeletal profile", "convex skeletal profile"),
    Measurement("ABPlane", "A-B plane angle", "Downs", ("A", "B", "N", "Pog"), "deg",
                lambda p: g.signed_angle(g.vec(p["A"], p["B"]), g.vec(p["N"], p["Pog"])),
                "A-B line to the facial plane N-Pog; negative when B lies behind A.",
                "B behind A (Class II tendency)", "B ahead of A (Class III tendency)"),
    Measurement("YAxis", "Y-axis (FH to S-Gn)", "Downs", ("Po", "Or", "S", "Gn"), "deg",
                lambda p: g.signed_angle(_fh(p), g.vec(p["S"], p["Gn"])),
                "Anterior-inferior angle between Frankfort and S-Gn: direction of facial growth.",
                "horizontal growth pattern", "vertical growth pattern"),
    # --- Tweed -------------------------------------------------------------------------------
    Measurement("FMA", "FMA (FH to Go-Me)", "Tweed", ("Po", "Or", "Go", "Me"), "deg",
                lambda p: g.signed_angle(_fh(p), g.vec(p["Go"], p["Me"])),
                "Frankfort-mandibular plane angle; positive when Go-Me slopes down anteriorly.",
                "low angle (hypodivergent)", "high angle (hyperdivergent)"),
    Measurement("IMPA", "IMPA (L1 to Go-Me)", "Tweed", ("Go", "Me", "LIT", "LIA"), "deg",
                lambda p: g.angle(g.vec(p["Me"], p["Go"]), g.vec(p["LIA"], p["LIT"])),
                "Lower incisor axis (apex->tip) to the mandibular plane, measured on its posterior side "
                "(~90 upright, larger when proclined); never the supplement.",
                "retroclined lower incisors", "proclined lower incisors"),
    Measurement("FMIA", "FMIA (L1 to FH)", "Tweed", ("Po", "Or", "LIT", "LIA"), "deg",
                lambda p: g.angle(g.vec(p["Or"], p["Po"]), g.vec(p["LIT"], p["LIA"])),
                "Lower incisor axis (tip->apex) to Frankfort (posterior side); FMA + IMPA + FMIA = 180.",
                "proclined lower incisors", "retroclined lower incisors"),
    # --- McNamara ----------------------------------------------------------------------------
    Measurement("A-Nperp", "A to nasion perpendicular", "McNamara", ("Po", "Or", "N", "A"), "mm",
                lambda p: g.along(p["A"], p["N"], _fh(p)),
                "Distance of A ahead of the line through N perpendicular to Frankfort.",
                "retrusive maxilla", "protrusive maxilla"),
    Measurement("Pog-Nperp", "Pog to nasion perpendicular", "McNamara", ("Po", "Or", "N", "Pog"), "mm",
                lambda p: g.along(p["Pog"], p["N"], _fh(p)),
                "Distance of Pog ahead of the line through N perpendicular to Frankfort.",
                "retrusive chin", "protrusive chin"),
    # --- Vertical ----------------------------------------------------------------------------
    Measurement("Jarabak", "Jarabak ratio (S-Go / N-Me)", "Jarabak", ("S", "Go", "N", "Me"), "%",
                lambda p: 100.0 * g.distance(p["S"], p["Go"]) / g.distance(p["N"], p["Me"]),
                "Posterior over anterior face height, percent.",
                "clockwise (vertical) growth", "counter-clockwise (horizontal) growth"),
    Measurement("GonialAngle", "Gonial angle (Ar-Go-Me)", "Jarabak", ("Ar", "Go", "Me"), "deg",
                lambda p: g.angle_at(p["Ar"], p["Go"], p["Me"]),
                "Angle at gonion between the ramus (Ar-Go) and the mandibular body (Go-Me).",
                "closed gonial angle", "open gonial angle"),
    Measurement("PP-MP", "Palatal-mandibular angle", "Vertical", ("PNS", "ANS", "Go", "Me"), "deg",
                lambda p: g.signed_angle(g.vec(p["PNS"], p["ANS"]), g.vec(p["Go"], p["Me"])),
                "Mandibular plane (Go-Me) to the palatal plane (PNS-ANS).",
                "hypodivergent", "hyperdivergent"),
    Measurement("LAFH", "Lower anterior face height (ANS-Me)", "Vertical", ("ANS", "Me"), "mm",
                lambda p: g.distance(p["ANS"], p["Me"]),
                "Distance ANS-Me.", "short lower face", "long lower face"),
    Measurement("LAFH%", "LAFH / total anterior face height", "Vertical", ("ANS", "Me", "N"), "%",
                lambda p: 100.0 * g.distance(p["ANS"], p["Me"]) / g.distance(p["N"], p["Me"]),
                "ANS-Me over N-Me, percent; needs no pixel size.", "short lower face", "long lower face"),
    # --- Soft tissue -------------------------------------------------------------------------
    Measurement("Ls-Eline", "Upper lip to E-line", "Ricketts", ("Pn", "Pog'", "Ls"), "mm",
                lambda p: g.anterior_distance(p["Ls"], p["Pn"], p["Pog'"]),
                "Upper lip to the esthetic line Pn-Pog'; negative behind the line.",
                "retrusive upper lip", "protrusive upper lip"),
    Measurement("Li-Eline", "Lower lip to E-line", "Ricketts", ("Pn", "Pog'", "Li"), "mm",
                lambda p: g.anterior_distance(p["Li"], p["Pn"], p["Pog'"]),
                "Lower lip to the esthetic line Pn-Pog'; negative behind the line.",
                "retrusive lower lip", "protrusive lower lip"),
    Measurement("H-angle", "H-angle", "Holdaway", ("Pog'", "Ls", "N'"), "deg",
                lambda p: g.signed_angle(g.vec(p["Pog'"], p["N'"]), g.vec(p["Pog'"], p["Ls"])),
                "H-line (Pog'-Ls) to the soft-tissue facial line (N'-Pog'); positive when the lip is ahead.",
                "flat soft-tissue profile", "convex soft-tissue profile"),
)
