"""A constructed right-facing skull whose every measurement is known by construction."""
from __future__ import annotations

import math

import numpy as np


def polar(origin, direction_deg: float, r: float) -> np.ndarray:
    """``origin`` moved ``r`` pixels along a screen direction (degrees clockwise from +x, y down)."""
    t = math.radians(direction_deg)
    return np.asarray(origin, dtype=float) + r * np.array([math.cos(t), math.sin(t)])


def skull() -> dict[str, np.ndarray]:
    """Landmarks with SN and FH both horizontal (so angles read straight off the construction)."""
    p = {}
    p["S"] = np.array([300.0, 500.0])
    p["N"] = np.array([1000.0, 500.0])            # S->N points along +x (0 deg)
    p["A"] = polar(p["N"], 180 - 82.0, 500)       # angle(N->S = 180 deg, N->A) = 82
    p["B"] = polar(p["N"], 180 - 79.0, 900)
    p["Po"] = np.array([200.0, 560.0])
    p["Or"] = np.array([900.0, 560.0])            # FH horizontal, +x
    p["Go"] = np.array([400.0, 1300.0])
    p["Me"] = polar(p["Go"], 25.0, 600)           # FMA = 25 (FH is 0 deg)
    p["Gn"] = polar(p["Go"], 32.0, 640)           # SN-MP = 32 (SN is 0 deg)
    p["Ar"] = polar(p["Go"], 25.0 - 120.0, 500)   # gonial angle: Go->Ar is 120 deg from Go->Me
    p["PNS"] = np.array([600.0, 800.0])
    p["ANS"] = np.array([1000.0, 800.0])          # palatal plane horizontal: PP-MP = 25
    p["LIT"] = np.array([1050.0, 1150.0])
    p["LIA"] = polar(p["LIT"], 300.0 - 180.0, 220)  # apex->tip direction 300 deg: 95 from Me->Go (205)
    p["UIT"] = np.array([1080.0, 1140.0])
    p["Pog"] = polar(p["N"], 92.2, 1000)          # facial angle 87.8 (FH horizontal)
    # soft tissue: only used for invariance checks, its values are tested on their own layouts
    p["Pn"], p["Sn"] = np.array([1250.0, 800.0]), np.array([1120.0, 880.0])
    p["Ls"], p["Li"] = np.array([1130.0, 1080.0]), np.array([1110.0, 1220.0])
    p["Pog'"], p["N'"] = np.array([1060.0, 1480.0]), np.array([1040.0, 480.0])
    return p


def rotate(points: dict, deg: float, centre=(700.0, 900.0)) -> dict:
    t = math.radians(deg)
    r = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    c = np.asarray(centre)
    return {k: (np.asarray(v) - c) @ r.T + c for k, v in points.items()}


def mirror(points: dict, width: float = 2000.0) -> dict:
    return {k: np.array([width - v[0], v[1]]) for k, v in points.items()}
