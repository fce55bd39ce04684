"""The ISBI 2015 classification task: formulas, class rules at their boundaries, the diagonal average."""
from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.clinical import isbi
from zoo.clinical.benchmark import read_truth, score, truth_file

BOUNDS = {  # measure: (lo, hi, class above hi, class below lo)
    "ANB": (3.2, 5.7, 2, 3), "SNB": (74.6, 78.7, 3, 2), "SNA": (79.4, 83.2, 2, 3),
    "ODI": (68.4, 80.5, 2, 3), "APDI": (77.6, 85.2, 3, 2), "FHI": (0.65, 0.75, 2, 3),
    "FMA": (26.8, 31.4, 2, 3),
}


@pytest.mark.parametrize("measure", sorted(BOUNDS))
def test_banded_rules_at_their_boundaries(measure):
    lo, hi, above, below = BOUNDS[measure]
    eps = 1e-9
    assert isbi.classify(measure, lo) == 1 and isbi.classify(measure, hi) == 1   # both ends inclusive
    assert isbi.classify(measure, (lo + hi) / 2) == 1
    assert isbi.classify(measure, hi + eps) == above
    assert isbi.classify(measure, lo - eps) == below


def test_mw_rules_including_exactly_zero():
    assert isbi.classify("MW", 2.0) == 1 and isbi.classify("MW", 4.5) == 1
    assert isbi.classify("MW", 0.0) == 2
    assert isbi.classify("MW", 1e-9) == 3 and isbi.classify("MW", -1e-9) == 3
    assert isbi.classify("MW", 1.99) == 3 and isbi.classify("MW", -3.0) == 3
    assert isbi.classify("MW", 4.5 + 1e-9) == 4


def _pts(**kw):
    return {k: np.asarray(v, dtype=float) for k, v in kw.items()}


def test_mw_is_signed_by_incisor_order_and_uses_the_pixel_size():
    p = _pts(UIT=(130, 0), LIT=(100, 40))
    assert isbi.mw_pixels(p) == pytest.approx(50.0)
    p = _pts(UIT=(100, 0), LIT=(130, 40))
    assert isbi.mw_pixels(p) == pytest.approx(-50.0)
    same = dict(zip(isbi.ISBI_SYMBOLS, np.arange(38, dtype=float).reshape(19, 2) * [1, 3]))
    same["UIT"] = same["LIT"] = np.array([500.0, 500.0])
    assert isbi.measure_classes(same)["MW"] == 2


def test_angles_and_ratio_formulas():
    p = _pts(S=(0, 0), N=(100, 0))
    p["A"] = np.array([100 + 50 * math.cos(math.radians(98)), 50 * math.sin(math.radians(98))])
    p["B"] = np.array([100 + 90 * math.cos(math.radians(101)), 90 * math.sin(math.radians(101))])
    assert isbi.snA(p) == pytest.approx(82.0) and isbi.snB(p) == pytest.approx(79.0)
    assert isbi.anb(p) == pytest.approx(3.0)
    q = _pts(S=(0, 0), Go=(0, 70), N=(100, 0), Me=(100, 100))
    assert isbi.fhi(q) == pytest.approx(0.70)
    q["Gn"] = np.array([100.0, 70 + 100 * math.tan(math.radians(29.0))])
    assert isbi.fma(q) == pytest.approx(29.0)


def test_odi_and_apdi_signs_follow_the_palatal_plane_tilt():
    # FH horizontal; palatal plane tilted 5 deg: anterior end down (cross > 0) or up (cross < 0)
    base = _pts(Po=(0, 0), Or=(100, 0), Me=(100, 300), Go=(0, 300), A=(120, 100), B=(120, 200),
                N=(100, -50), Pog=(100, 250))
    down = dict(base, PNS=np.array([0.0, 50.0]), ANS=np.array([100.0, 50 + 100 * math.tan(math.radians(5))]))
    up = dict(base, PNS=np.array([0.0, 50.0]), ANS=np.array([100.0, 50 - 100 * math.tan(math.radians(5))]))
    # Me->Go is 180 deg, B->A is 270 deg (straight up): their angle is 90
    assert isbi.odi(down) == pytest.approx(90.0 + 5.0)
    assert isbi.odi(up) == pytest.approx(90.0 - 5.0)
    # APDI: angle(Or->Po, N->Pog) = 90; N->Pog and A->B parallel (0); then +-5
    assert isbi.apdi(down) == pytest.approx(95.0)
    assert isbi.apdi(up) == pytest.approx(85.0)
    # s1: B behind A (cross(N->Pog, A->B) > 0) subtracts the A-B angle: lower APDI, Class II side
    b_behind = dict(down, B=np.array([120 - 100 * math.tan(math.radians(4)), 200.0]))
    b_ahead = dict(down, B=np.array([120 + 100 * math.tan(math.radians(4)), 200.0]))
    assert isbi.apdi(b_behind) == pytest.approx(95.0 - 4.0)
    assert isbi.apdi(b_ahead) == pytest.approx(95.0 + 4.0)


def test_diagonal_average_on_a_small_confusion():
    truth = [1, 1, 1, 1, 2, 2, 3]
    pred = [1, 1, 1, 2, 2, 1, 1]
    # recalls: class 1 3/4, class 2 1/2, class 3 0/1
    assert isbi.diagonal_average(truth, pred) == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    # a class only predicted (never true) has no recall and does not count
    assert isbi.diagonal_average([1, 1, 2], [1, 4, 2]) == pytest.approx((0.5 + 1.0) / 2)
    # a majority guess is not rewarded as plain accuracy would reward it
    assert isbi.diagonal_average([1] * 9 + [2], [1] * 10) == pytest.approx(0.5)
    m = isbi.confusion(truth, pred, [1, 2, 3])
    assert m.tolist() == [[3, 1, 0], [1, 1, 0], [1, 0, 0]]


def test_score_table():
    t = [{m: 1 for m in isbi.MEASURES} for _ in range(3)]
    p = [dict(c) for c in t]
    p[0]["ANB"] = 2
    rep = score(t, p)
    assert rep["measures"]["ANB"]["diagonal_average"] == pytest.approx(2 / 3)
    assert rep["measures"]["SNA"]["diagonal_average"] == 1.0
    assert rep["average"] == pytest.approx((7 + 2 / 3) / 8)


@pytest.mark.realdata
def test_all_test1_truth_files_give_finite_measures_and_truth_scores_100(isbi_data):
    classes = []
    for i in range(151, 301):
        xy = read_truth(truth_file(isbi_data, i))
        vals = isbi.measure_values(xy)
        assert set(vals) == set(isbi.MEASURES)
        assert all(np.isfinite(v) for v in vals.values()), (i, vals)
        assert 50 < vals["SNA"] < 110 and 0.4 < vals["FHI"] < 1.0, (i, vals)
        classes.append(isbi.measure_classes(xy))
    assert len(classes) == 150
    rep = score(classes, [dict(c) for c in classes])
    assert rep["average"] == 1.0


@pytest.mark.realdata
def test_simulated_errors_reference(isbi_data):
    from zoo.clinical.benchmark import simulated_report

    xys = [read_truth(truth_file(isbi_data, i)) for i in range(151, 191)]
    assert simulated_report(xys, 0.0, seeds=1)["average"] == 1.0
    small, large = simulated_report(xys, 0.5, seeds=2), simulated_report(xys, 3.0, seeds=2)
    assert 0.0 < large["average"] < small["average"] < 1.0
    assert large["simulated"]["sigma_px"] == pytest.approx(30.0 / math.sqrt(math.pi / 2))
