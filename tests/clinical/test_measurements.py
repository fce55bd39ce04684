"""Every standard measurement on constructed layouts whose answer is known by construction."""
from __future__ import annotations

import math

import numpy as np
import pytest
from clinical_layouts import mirror, polar, rotate, skull
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.clinical import MEASUREMENTS, analyze
from zoo.clinical.measurements import STANDARD


def val(points, key, mm=None):
    row = analyze(points, mm)[key]
    assert row.available, row.reason
    return row.value


def test_steiner(layout):
    assert val(layout, "SNA") == pytest.approx(82.0)
    assert val(layout, "SNB") == pytest.approx(79.0)
    assert val(layout, "ANB") == pytest.approx(3.0)
    assert val(layout, "SN-MP") == pytest.approx(32.0)


def test_anb_is_negative_when_b_is_ahead_of_a(layout):
    layout["B"] = polar(layout["N"], 180 - 85.0, 900)
    assert val(layout, "ANB") == pytest.approx(-3.0)


def test_tweed_triangle(layout):
    assert val(layout, "FMA") == pytest.approx(25.0)
    assert val(layout, "IMPA") == pytest.approx(95.0)
    assert val(layout, "FMIA") == pytest.approx(60.0)


def test_impa_is_never_its_supplement(layout):
    """A proclined incisor (tip forward) must read above 90, a retroclined one below, on every image."""
    for pts in (layout, rotate(layout, 20), mirror(layout)):
        assert val(pts, "IMPA") == pytest.approx(95.0)          # not 85, its supplement
    retro = dict(layout)
    retro["LIA"] = polar(retro["LIT"], (205.0 + 85.0) - 180.0, 220)  # axis 85 deg from Me->Go
    assert val(retro, "IMPA") == pytest.approx(85.0)
    assert val(retro, "FMIA") == pytest.approx(70.0)
    # tipping the crown forward by 10 deg must *raise* IMPA by 10
    pro = dict(layout)
    pro["LIT"] = polar(pro["LIA"], 300.0 + 10.0, 220)
    assert val(pro, "IMPA") == pytest.approx(105.0)


@settings(max_examples=200, deadline=None)
@given(fh=st.floats(-15, 15), mp=st.floats(5, 45), impa=st.floats(60, 125),
       shift=st.tuples(st.floats(-300, 300), st.floats(-300, 300)))
def test_fma_impa_fmia_sum_to_180(fh, mp, impa, shift):
    p = {"S": np.array([0.0, 0.0]), "N": polar((0, 0), fh, 700)}
    p["Po"] = np.array([-100.0, 60.0])
    p["Or"] = polar(p["Po"], fh, 700)
    p["Go"] = np.array([100.0, 800.0])
    p["Me"] = polar(p["Go"], fh + mp, 600)
    p["LIT"] = np.array([750.0, 700.0]) + np.array(shift)
    p["LIA"] = polar(p["LIT"], fh + mp + 180 + impa - 180, 200)  # apex->tip is (Me->Go) + impa
    a = analyze(p)
    assert a["IMPA"].value == pytest.approx(impa, abs=1e-6)
    assert a["FMA"].value == pytest.approx(mp, abs=1e-6)
    assert a["FMA"].value + a["IMPA"].value + a["FMIA"].value == pytest.approx(180.0, abs=1e-6)


def test_downs(layout):
    assert val(layout, "FacialAngle") == pytest.approx(87.8)
    p = {"S": np.array([0.0, 0.0]), "N": np.array([500.0, 0.0]), "Po": np.array([-50.0, 50.0]),
         "Or": np.array([450.0, 50.0]), "Pog": np.array([500.0, 1000.0])}
    p["Gn"] = polar(p["S"], 59.4, 900)
    assert val(p, "YAxis") == pytest.approx(59.4)
    p["A"] = np.array([550.0, 500.0])                         # 50 px ahead of N-Pog at mid height
    assert val(p, "Convexity") == pytest.approx(2 * math.degrees(math.atan(50 / 500)))
    p["A"] = np.array([450.0, 500.0])                         # behind: concave
    assert val(p, "Convexity") == pytest.approx(-2 * math.degrees(math.atan(50 / 500)))
    p["A"], p["B"] = np.array([500.0, 500.0]), np.array([450.0, 1000.0])   # B 50 px behind A
    assert val(p, "ABPlane") == pytest.approx(-math.degrees(math.atan(50 / 500)))
    p["B"] = np.array([550.0, 1000.0])
    assert val(p, "ABPlane") == pytest.approx(math.degrees(math.atan(50 / 500)))


def test_mcnamara_distances_are_along_frankfort_and_scaled():
    p = {"Po": np.array([0.0, 600.0]), "Or": np.array([800.0, 600.0]), "N": np.array([1000.0, 500.0]),
         "A": np.array([1030.0, 900.0]), "Pog": np.array([980.0, 1500.0]), "S": np.array([300.0, 480.0])}
    assert val(p, "A-Nperp", 0.1) == pytest.approx(3.0)
    assert val(p, "Pog-Nperp", 0.1) == pytest.approx(-2.0)
    tilted = rotate(p, 15.0)
    assert val(tilted, "A-Nperp", 0.1) == pytest.approx(3.0)
    assert val(tilted, "Pog-Nperp", 0.2) == pytest.approx(-4.0)


def test_vertical(layout):
    assert val(layout, "GonialAngle") == pytest.approx(120.0)
    assert val(layout, "PP-MP") == pytest.approx(25.0)
    p = {"S": np.array([0.0, 0.0]), "Go": np.array([0.0, 630.0]), "N": np.array([700.0, 0.0]),
         "Me": np.array([700.0, 1000.0]), "ANS": np.array([700.0, 450.0])}
    assert val(p, "Jarabak") == pytest.approx(63.0)
    assert val(p, "LAFH", 0.1) == pytest.approx(55.0)
    assert val(p, "LAFH%") == pytest.approx(55.0)


def test_soft_tissue():
    pn, pogs = np.array([1500.0, 900.0]), np.array([1400.0, 1700.0])
    d = (pogs - pn) / np.linalg.norm(pogs - pn)
    ahead = np.array([d[1], -d[0]])                     # the normal pointing to +x
    assert ahead[0] > 0
    mid = (pn + pogs) / 2
    p = {"S": np.array([300.0, 500.0]), "N": np.array([1000.0, 500.0]), "Pn": pn, "Pog'": pogs,
         "Ls": mid - 40 * ahead, "Li": mid + 0.2 * (pogs - pn) - 20 * ahead}
    assert val(p, "Ls-Eline", 0.1) == pytest.approx(-4.0)
    assert val(p, "Li-Eline", 0.1) == pytest.approx(-2.0)
    q = {"S": np.array([300.0, 500.0]), "N": np.array([1000.0, 500.0]), "Pog'": np.array([1100.0, 1700.0]),
         "N'": np.array([1100.0, 500.0])}
    q["Ls"] = polar(q["Pog'"], -90.0 + 10.0, 300)      # 10 deg forward of the soft-tissue facial line
    assert val(q, "H-angle") == pytest.approx(10.0)
    q["Ls"] = polar(q["Pog'"], -90.0 - 4.0, 300)
    assert val(q, "H-angle") == pytest.approx(-4.0)


def test_all_rows_invariant_to_rotation_translation_and_mirroring(layout):
    base = analyze(layout, 0.1).values()
    assert all(v is not None for v in base.values()), base
    for pts, facing in ((rotate(layout, 12.0), "right"), (rotate(layout, -9.0), "right"),
                        (mirror(layout), "left"), (mirror(rotate(layout, 7.0)), "left")):
        a = analyze(pts, 0.1)
        assert a.facing == facing
        for k, v in a.values().items():
            if k == "ISBI:MW":  # UIT/LIT sign rule compares raw x; rotation moves it, mirroring does not
                continue
            assert v == pytest.approx(base[k], abs=1e-6), k


def test_mm_rows_scale_with_pixel_size_and_angles_do_not(layout):
    a1, a2 = analyze(layout, 0.1), analyze(layout, 0.2)
    for m in MEASUREMENTS:
        v1, v2 = a1[m.key].value, a2[m.key].value
        assert v2 == pytest.approx(2 * v1 if m.unit == "mm" else v1), m.key


def test_every_measurement_names_its_landmarks_and_unique_keys():
    keys = [m.key for m in MEASUREMENTS]
    assert len(keys) == len(set(keys))
    full = skull()
    for m in STANDARD:
        assert set(m.needs) <= set(full), m.key
        # the function uses only what it names: drop everything else and it still computes
        only = {s: full[s] for s in m.needs}
        assert np.isfinite(m.compute(only))
