"""The ISBI 2015 challenge's classification task: eight measures, their class rules and its score.

The formulas and thresholds follow the challenge's published evaluation (Wang et al. 2016), including
its quirks: "FMA" there is S-N to Go-Gn (not Tweed's Frankfort angle), MW is a fixed 0.1 mm/px times
|UIT - LIT|, and MW's class 2 is the value *exactly* 0. ``angle`` is unsigned, ``cross(u, v) = ux*vy - uy*vx``.
Keeping the quirks is the point: the benchmark must classify the way the challenge did.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from zoo.clinical import geometry as g
from zoo.clinical.measurements import ClassRule, Measurement, Points

#: ISBI 2015's 19 landmarks (L1..L19) as the zoo's shared symbols.
ISBI_SYMBOLS: tuple[str, ...] = (
    "S", "N", "Or", "Po", "A", "B", "Pog", "Me", "Gn", "Go",
    "LIT", "UIT", "Ls", "Li", "Sn", "Pog'", "PNS", "ANS", "Ar",
)
ISBI_MM_PER_PIXEL = 0.1
MEASURES: tuple[str, ...] = ("ANB", "SNB", "SNA", "ODI", "APDI", "FHI", "FMA", "MW")


def _v(p: Points, a: str, b: str) -> np.ndarray:
    return g.vec(p[a], p[b])


def _fh_pp_term(p: Points) -> float:
    """``s * angle(Po->Or, PNS->ANS)``, s = -1 when cross(Po->Or, PNS->ANS) < 0: shared by ODI and APDI."""
    fh, pp = _v(p, "Po", "Or"), _v(p, "PNS", "ANS")
    return (-1.0 if g.cross(fh, pp) < 0 else 1.0) * g.angle(fh, pp)


def snA(p: Points) -> float:
    return g.angle(_v(p, "N", "S"), _v(p, "N", "A"))


def snB(p: Points) -> float:
    return g.angle(_v(p, "N", "S"), _v(p, "N", "B"))


def anb(p: Points) -> float:
    return snA(p) - snB(p)


def odi(p: Points) -> float:
    return g.angle(_v(p, "Me", "Go"), _v(p, "B", "A")) + _fh_pp_term(p)


def apdi(p: Points) -> float:
    npog, ab = _v(p, "N", "Pog"), _v(p, "A", "B")
    s1 = -1.0 if g.cross(npog, ab) > 0 else 1.0
    return g.angle(_v(p, "Or", "Po"), npog) + s1 * g.angle(npog, ab) + _fh_pp_term(p)


def fhi(p: Points) -> float:
    return g.distance(p["S"], p["Go"]) / g.distance(p["N"], p["Me"])


def fma(p: Points) -> float:
    return g.angle(_v(p, "S", "N"), _v(p, "Go", "Gn"))


def mw_pixels(p: Points) -> float:
    """|UIT - LIT| in pixels, negative when x(UIT) < x(LIT); times the pixel size it is MW in mm."""
    d = g.distance(p["UIT"], p["LIT"])
    return -d if p["UIT"][0] < p["LIT"][0] else d


def _banded(lo: float, hi: float, above: int, below: int, labels: dict[int, str]):
    """Class 1 on [lo, hi] (both ends included), ``above`` past hi, ``below`` under lo."""

    def classify(value: float) -> tuple[int, str]:
        c = 1 if lo <= value <= hi else (above if value > hi else below)
        return c, labels[c]

    classify.range = (lo, hi)
    return classify


def _mw_classify(value: float) -> tuple[int, str]:
    if 2.0 <= value <= 4.5:
        c = 1
    elif value == 0.0:
        c = 2
    elif value < 2.0:
        c = 3
    else:
        c = 4
    return c, _MW_LABELS[c]


_mw_classify.range = (2.0, 4.5)
_MW_LABELS = {1: "normal", 2: "edge to edge (exactly 0)", 3: "below 2 mm (crossbite side)", 4: "large overjet"}

RULES = {
    "ANB": _banded(3.2, 5.7, 2, 3, {1: "Class I", 2: "Class II", 3: "Class III"}),
    "SNB": _banded(74.6, 78.7, 3, 2, {1: "normal mandible", 2: "retrognathic mandible",
                                     3: "prognathic mandible"}),
    "SNA": _banded(79.4, 83.2, 2, 3, {1: "normal maxilla", 2: "prognathic maxilla", 3: "retrognathic maxilla"}),
    "ODI": _banded(68.4, 80.5, 2, 3, {1: "normal", 2: "deep bite tendency", 3: "open bite tendency"}),
    "APDI": _banded(77.6, 85.2, 3, 2, {1: "normal", 2: "Class II tendency", 3: "Class III tendency"}),
    "FHI": _banded(0.65, 0.75, 2, 3, {1: "normal", 2: "short face tendency", 3: "long face tendency"}),
    "FMA": _banded(26.8, 31.4, 2, 3, {1: "normal", 2: "high angle", 3: "low angle"}),
    "MW": _mw_classify,
}

_FORMULAS = {"ANB": anb, "SNB": snB, "SNA": snA, "ODI": odi, "APDI": apdi, "FHI": fhi, "FMA": fma}
_NEEDS = {
    "ANB": ("S", "N", "A", "B"), "SNB": ("S", "N", "B"), "SNA": ("S", "N", "A"),
    "ODI": ("Me", "Go", "B", "A", "Po", "Or", "PNS", "ANS"),
    "APDI": ("Or", "Po", "N", "Pog", "A", "B", "PNS", "ANS"),
    "FHI": ("S", "Go", "N", "Me"), "FMA": ("S", "N", "Go", "Gn"), "MW": ("UIT", "LIT"),
}
_UNITS = {"FHI": "ratio", "MW": "mm"}
_NAMES = {"ODI": "ODI (overbite depth indicator)", "APDI": "APDI (anteroposterior dysplasia indicator)",
          "FHI": "FHI (S-Go / N-Me)", "FMA": "FMA as ISBI defines it (SN to Go-Gn)",
          "MW": "MW (UIT-LIT distance, signed)"}


def classify(measure: str, value: float) -> int:
    """The challenge's class (1, 2, 3 or, for MW, 4) of one measure's value."""
    return RULES[measure](value)[0]


def class_range(measure: str) -> tuple[float, float]:
    """The class-1 interval of a measure."""
    return RULES[measure].range


def as_points(landmarks) -> dict[str, np.ndarray]:
    """Accept a (19, 2) array in ISBI order or a ``symbol -> (x, y)`` mapping."""
    if isinstance(landmarks, Mapping):
        return {k: np.asarray(v, dtype=np.float64) for k, v in landmarks.items()}
    arr = np.asarray(landmarks, dtype=np.float64)
    if arr.shape != (len(ISBI_SYMBOLS), 2):
        raise ValueError(f"expected ({len(ISBI_SYMBOLS)}, 2) ISBI landmarks, got shape {arr.shape}")
    return dict(zip(ISBI_SYMBOLS, arr))


def measure_values(landmarks, mm_per_pixel: float = ISBI_MM_PER_PIXEL) -> dict[str, float]:
    """The eight measures of one image (landmarks as in :func:`as_points`)."""
    p = as_points(landmarks)
    out = {m: float(f(p)) for m, f in _FORMULAS.items()}
    out["MW"] = float(mm_per_pixel * mw_pixels(p))
    return {m: out[m] for m in MEASURES}


def measure_classes(landmarks, mm_per_pixel: float = ISBI_MM_PER_PIXEL) -> dict[str, int]:
    """The eight classes of one image."""
    return {m: classify(m, v) for m, v in measure_values(landmarks, mm_per_pixel).items()}


def confusion(truth: Sequence[int], pred: Sequence[int], classes: Iterable[int]) -> np.ndarray:
    """Counts ``[i, j]`` of truth class ``classes[i]`` predicted as ``classes[j]``."""
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(truth, pred, strict=True):
        m[index[t], index[p]] += 1
    return m


def diagonal_average(truth: Sequence[int], pred: Sequence[int]) -> float:
    """The challenge's score: the mean over truth classes of each class's recall.

    Classes absent from the truth have no recall and are left out, so a rare class weighs as much as a
    common one (a constant guess of the majority class does not score well).
    """
    if len(truth) == 0:
        raise ValueError("no images to score")
    classes = sorted(set(truth) | set(pred))
    m = confusion(truth, pred, classes)
    rows = m.sum(axis=1)
    present = rows > 0
    return float(np.mean(np.diag(m)[present] / rows[present]))


def _isbi_measurement(m: str) -> Measurement:
    unit = _UNITS.get(m, "deg")
    compute = mw_pixels if m == "MW" else _FORMULAS[m]
    lo, hi = class_range(m)
    return Measurement(
        f"ISBI:{m}", _NAMES.get(m, m), "ISBI 2015 classes", _NEEDS[m], unit, compute,
        f"ISBI 2015 challenge measure {m}; class 1 is {lo:g}-{hi:g}.",
        rule=ClassRule(normal=f"{lo:g}-{hi:g}", classify=RULES[m]),
    )


ISBI_MEASUREMENTS: tuple[Measurement, ...] = tuple(_isbi_measurement(m) for m in MEASURES)
