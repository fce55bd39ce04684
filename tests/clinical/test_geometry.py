"""The geometric primitives: orientation (y down), signs, mirroring, degenerate input, ruler scale."""
from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.clinical import geometry as g


def test_signed_angle_is_clockwise_on_screen_with_y_down():
    right, down = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert g.signed_angle(right, down) == pytest.approx(90.0)   # turning right->down is clockwise on screen
    assert g.signed_angle(down, right) == pytest.approx(-90.0)
    assert g.cross(right, down) > 0


def test_mirroring_flips_signed_angles_and_keeps_unsigned_ones():
    rng = np.random.default_rng(0)
    for _ in range(50):
        u, v = rng.normal(size=2), rng.normal(size=2)
        m = np.array([-1.0, 1.0])
        assert g.signed_angle(u * m, v * m) == pytest.approx(-g.signed_angle(u, v), abs=1e-9)
        assert g.angle(u * m, v * m) == pytest.approx(g.angle(u, v), abs=1e-9)
        assert abs(g.signed_angle(u, v)) == pytest.approx(g.angle(u, v), abs=1e-9)


def test_known_triangles():
    assert g.angle_at((0, 1), (0, 0), (1, 0)) == pytest.approx(90.0)
    # 3-4-5 triangle: angle at the origin opposite the side of 3
    assert g.angle_at((4, 0), (0, 0), (4, 3)) == pytest.approx(math.degrees(math.atan2(3, 4)))
    assert g.distance((0, 0), (3, 4)) == pytest.approx(5.0)
    # equilateral
    assert g.angle_at((0, 0), (1, 0), (0.5, math.sqrt(3) / 2)) == pytest.approx(60.0)


def test_anterior_distance_sign_does_not_depend_on_line_direction():
    a, b = np.array([100.0, 0.0]), np.array([80.0, 200.0])
    ahead = np.array([130.0, 100.0])
    d1, d2 = g.anterior_distance(ahead, a, b), g.anterior_distance(ahead, b, a)
    assert d1 == pytest.approx(d2) and d1 > 0
    # exact: a point 40 px along the normal from the line's midpoint
    n = np.array([200.0, 20.0]) / math.hypot(200, 20)
    assert g.anterior_distance((a + b) / 2 - 40 * n, a, b) == pytest.approx(-40.0)


def test_coincident_landmarks_raise():
    with pytest.raises(ValueError, match="coincide"):
        g.angle_at((1, 1), (1, 1), (2, 2))


def test_ruler_calibration():
    assert g.ruler_mm_per_pixel((10, 10), (10, 210), 20.0) == pytest.approx(0.1)
    assert g.ruler_mm_per_pixel((0, 0), (30, 40), 5.0) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        g.ruler_mm_per_pixel((0, 0), (30, 40), 0.0)
