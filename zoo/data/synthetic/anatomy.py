"""A parametric lateral skull in millimetres (sella at the origin, x towards the face, y down).

Every landmark and every drawn contour comes from one point dictionary, deformed by the same random
transforms, so landmarks stay on the anatomy under shape variation: contours are splines through the
landmarks themselves. The figures are plausible adult proportions (SN ~70 mm, N-Me ~125 mm), not a
measured atlas.
"""
from __future__ import annotations

import math

import numpy as np

# -- canonical points (mm) by group; a group moves as one under its random transform ------------------
CRANIUM = {
    "S": (0, 0), "N": (70, -10), "Or": (52, 21), "Po": (-28, 19), "Ar": (-15, 29), "Co": (-10, 21),
    # vault, outer contour from glabella backwards (closed through the cranial base)
    "v0": (78, -20), "v1": (81, -42), "v2": (74, -66), "v3": (56, -88), "v4": (26, -103), "v5": (-10, -108),
    "v6": (-46, -101), "v7": (-76, -81), "v8": (-96, -50), "v9": (-104, -15), "v10": (-100, 20),
    "v11": (-86, 46), "v12": (-62, 58), "v13": (-38, 40),
    # sella turcica cup, anterior cranial base, clivus
    "st0": (-7, -6), "st1": (-7, 3), "st2": (0, 6.5), "st3": (7, 3), "st4": (9, -4), "acb1": (25, -7),
    "acb2": (47, -9), "cl1": (-8, 15), "cl2": (-12, 42), "sp1": (20, 4), "sp2": (24, 24), "sp3": (8, 38),
    # orbit rim, nasal bone, key ridge, pterygomaxillary fissure
    "orb": (50, 3), "nb": (84, 12), "kr1": (44, 26), "kr2": (52, 42), "pt1": (21, 18), "pt2": (19, 45),
    "mast": (-30, 32),
}
MAXILLA = {
    "PNS": (18, 47), "ANS": (72, 44), "A": (68, 53), "mx1": (71, 64), "mx2": (73, 73), "mx3": (58, 73),
    "mx4": (40, 72), "mx5": (24, 68), "pl1": (40, 44), "pl2": (60, 43.5), "pl3": (58, 49), "pl4": (38, 50),
    "UPM": (52, 79), "UMT": (42, 78), "sin": (42, 30),
}
UPPER_INCISOR = {"UIA": (64, 58), "UIT": (74, 82)}
MANDIBLE = {
    "Go": (-6, 92), "R": (-12, 60), "Me": (58, 117), "Gn": (65, 114), "Pog": (68, 108), "B": (66, 95),
    "LPM": (52, 80), "LMT": (42, 79),
    "md0": (-13.5, 25), "md1": (-14, 45), "md2": (-10, 78), "md3": (6, 101), "md4": (26, 108),
    "md5": (45, 114), "md6": (67, 101), "md7": (69, 87), "md8": (55, 86), "md9": (35, 84), "md10": (18, 82),
    "md11": (10, 72), "md12": (8, 52), "md13": (11, 34), "md14": (2, 41), "md15": (-4, 31), "md16": (-3, 23),
    "hy": (22, 128),
}
LOWER_INCISOR = {"LIA": (60, 101), "LIT": (72, 80)}
SOFT = {
    "N'": (79, -9), "Pn": (104, 30), "Sn": (88, 46), "Ls": (90, 64), "Li": (87, 86), "Pog'": (80, 110),
    "sf0": (88, -60), "sf1": (87, -32), "sf2": (93, 10), "sf3": (97, 42), "sf4": (90, 55), "sf5": (85, 75),
    "sf6": (80, 97), "sf7": (72, 124), "sf8": (42, 130), "sf9": (14, 142), "sf10": (4, 175),
}
SPINE = {"c2": (-38, 78), "c3": (-40, 109), "c4": (-42, 133), "c5": (-44, 157)}

GROUPS = {"cranium": CRANIUM, "maxilla": MAXILLA, "upper_incisor": UPPER_INCISOR, "mandible": MANDIBLE,
          "lower_incisor": LOWER_INCISOR, "soft": SOFT, "spine": SPINE}
LANDMARKS_29 = ["A", "ANS", "B", "Me", "N", "Or", "Pog", "PNS", "Pn", "R", "S", "Ar", "Co", "Gn", "Go", "Po",
                "LPM", "LIT", "LMT", "UPM", "UIA", "UIT", "UMT", "LIA", "Li", "Ls", "N'", "Pog'", "Sn"]


def _affine(angle_deg=0.0, scale=(1.0, 1.0), about=(0.0, 0.0), shift=(0.0, 0.0)) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    rs = np.array([[c * scale[0], -s * scale[1]], [s * scale[0], c * scale[1]]])
    m = np.eye(3)
    m[:2, :2] = rs
    m[:2, 2] = np.asarray(about) + np.asarray(shift) - rs @ np.asarray(about)
    return m


def _apply(m: np.ndarray, pts: dict) -> dict:
    return {k: tuple(m[:2, :2] @ np.asarray(v, float) + m[:2, 2]) for k, v in pts.items()}


def sample_anatomy(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One random skull: name -> (x, y) mm. Landmark names are the Aariz symbols."""
    n = lambda sd: float(rng.normal(0, sd))  # noqa: E731
    pts = {}
    # cranium: cranial-base length and angle
    cran = _affine(n(2.0), (1 + n(0.04), 1 + n(0.04)))
    pts.update(_apply(cran, CRANIUM))
    # face: vertical height and sagittal position of the maxilla relative to the cranium
    vert = 1 + n(0.05)
    face = cran @ _affine(n(1.5), (1 + n(0.03), vert), about=(60, -10), shift=(n(2.0), 0))
    pts.update(_apply(face, MAXILLA))
    ui_angle = n(6.0)
    pts.update(_apply(face @ _affine(ui_angle, about=UPPER_INCISOR["UIA"]), UPPER_INCISOR))
    # mandible: rotation about the condyle (divergence), length, chin prominence
    mand = face @ _affine(n(1.8), (1 + n(0.035), 1 + n(0.03)), about=MANDIBLE["md16"])
    mandible = _apply(mand, MANDIBLE)
    chin = np.array([n(1.5), n(1.0)])
    for k in ("Pog", "Gn", "B", "md6"):
        mandible[k] = tuple(np.asarray(mandible[k]) + chin * (0.5 if k in ("B", "md6") else 1.0))
    pts.update(mandible)
    li = mand @ _affine(n(6.0), about=LOWER_INCISOR["LIA"])
    pts.update(_apply(li, LOWER_INCISOR))
    # soft tissue: thickness follows the bone under it, plus its own variation
    soft = _apply(face, SOFT)
    nose = np.array([n(3.0), n(2.0)])
    lips = n(2.0)
    for k, v in soft.items():
        d = np.zeros(2)
        if k in ("Pn", "sf3", "sf2"):
            d += nose * (1.0 if k == "Pn" else 0.5)
        if k in ("Ls", "Li", "sf5", "sf4", "sf6"):
            d[0] += lips
        if k in ("Pog'", "sf6", "sf7"):
            d += np.asarray(mandible["Pog"]) - _apply(face, {"p": MANDIBLE["Pog"]})["p"]
        soft[k] = tuple(np.asarray(v) + d)
    pts.update(soft)
    pts.update(_apply(_affine(n(4.0), about=(-40, 80), shift=(n(3.0), n(2.0))), SPINE))
    # a smooth random field for natural asymmetry of shapes, then small per-landmark annotation noise
    centres = rng.uniform([-60, -60], [100, 140], size=(4, 2))
    amps = rng.normal(0, 1.5, size=(4, 2))
    out = {}
    for k, v in pts.items():
        p = np.asarray(v, float)
        w = np.exp(-np.sum((centres - p) ** 2, axis=1) / (2 * 40.0 ** 2))
        p = p + (w[:, None] * amps).sum(axis=0)
        out[k] = p
    for k in LANDMARKS_29:
        out[k] = out[k] + rng.normal(0, 0.4, 2)
    return out
