"""Plane geometry on landmark coordinates, in image pixels (x right, y down).

Why its own module: every sign mistake in cephalometrics comes from mixing up screen and maths
orientation. Here the convention is fixed once: with y pointing down, a *positive* signed angle
rotates a vector clockwise on the screen, so for a profile facing right (anterior = +x) it turns a
forward-pointing line downwards. Mirroring the image (x -> -x) flips the sign of every signed angle
and leaves unsigned angles and distances alone.
"""
from __future__ import annotations

import math

import numpy as np


def vec(p, q) -> np.ndarray:
    """The vector from point ``p`` to point ``q``."""
    return np.asarray(q, dtype=np.float64) - np.asarray(p, dtype=np.float64)


def cross(u, v) -> float:
    """z of the 2-D cross product, ``ux*vy - uy*vx`` (positive: v is clockwise of u on screen)."""
    return float(u[0] * v[1] - u[1] * v[0])


def _norm(u) -> float:
    n = float(math.hypot(u[0], u[1]))
    if n == 0.0:
        raise ValueError("zero-length vector: two landmarks coincide")
    return n


def angle(u, v) -> float:
    """Unsigned angle between two vectors, degrees in [0, 180]."""
    c = float(np.dot(u, v)) / (_norm(u) * _norm(v))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def signed_angle(u, v) -> float:
    """Angle that rotates ``u`` onto ``v``, degrees in (-180, 180]; positive is clockwise on screen."""
    _norm(u), _norm(v)
    return math.degrees(math.atan2(cross(u, v), float(np.dot(u, v))))


def angle_at(p, vertex, q) -> float:
    """Unsigned angle p-vertex-q at ``vertex``, degrees."""
    return angle(vec(vertex, p), vec(vertex, q))


def distance(p, q) -> float:
    """Euclidean distance in pixels."""
    return float(math.hypot(*vec(p, q)))


def anterior_distance(point, a, b) -> float:
    """Signed perpendicular distance of ``point`` from the line a-b, positive on the anterior (+x) side.

    Meant for near-vertical lines (E-line, facial planes) of a right-facing profile; the normal is the
    one of the two perpendiculars that points to +x.
    """
    d = vec(a, b)
    n = np.array([d[1], -d[0]]) / _norm(d)
    if n[0] < 0 or (n[0] == 0 and n[1] > 0):
        n = -n
    return float(np.dot(vec(a, point), n))


def along(point, origin, direction) -> float:
    """Signed length of ``point - origin`` projected on ``direction`` (pixels)."""
    return float(np.dot(vec(origin, point), np.asarray(direction, dtype=np.float64))) / _norm(direction)


def ruler_mm_per_pixel(p1, p2, ruler_mm: float) -> float:
    """Pixel size from two calibration marks ``ruler_mm`` apart: ``ruler_mm / |p1 - p2|``."""
    if not ruler_mm > 0:
        raise ValueError(f"ruler length must be positive, got {ruler_mm}")
    return float(ruler_mm) / _norm(vec(p1, p2))
