"""The clinical report's arithmetic on layouts with known answers."""
import math

import numpy as np
import pytest

from zoo.evaluation import format_report, headline, landmark_report


def _layout(errors_px, spacing=0.1):
    """One image per row of ``errors_px``: each landmark displaced along x by the given pixels."""
    errors_px = np.asarray(errors_px, dtype=float)
    n, k = errors_px.shape
    truth = np.tile(np.arange(k, dtype=float)[None, :, None] * 100, (n, 1, 2))
    pred = truth.copy()
    pred[..., 0] += errors_px
    return pred, truth, np.ones((n, k)), np.full(n, spacing)


def test_mre_and_sdr_known_values():
    pred, truth, vis, sp = _layout([[10, 20, 30, 50], [0, 25, 40, 60]])  # mm: 1 2 3 5 / 0 2.5 4 6
    rep = landmark_report(pred, truth, vis, sp, ["a", "b", "c", "d"])
    assert rep["MRE_px"]["mean"] == pytest.approx(np.mean([10, 20, 30, 50, 0, 25, 40, 60]))
    assert rep["MRE_mm"]["max"] == pytest.approx(6.0)
    assert rep["SDR"]["2mm"] == pytest.approx(3 / 8 * 100)
    assert rep["SDR"]["2.5mm"] == pytest.approx(4 / 8 * 100)
    assert rep["SDR"]["3mm"] == pytest.approx(5 / 8 * 100)
    assert rep["SDR"]["4mm"] == pytest.approx(6 / 8 * 100)
    assert rep["per_landmark"]["d"]["MRE_mm"] == pytest.approx(5.5)
    assert headline(rep)["MRE"] == pytest.approx(rep["MRE_mm"]["mean"])


def test_invisible_landmarks_are_left_out_not_counted_as_zero():
    pred, truth, vis, sp = _layout([[10, 1000]])
    vis[0, 1] = 0
    rep = landmark_report(pred, truth, vis, sp, ["a", "b"])
    assert rep["landmarks"] == 1
    assert rep["MRE_px"]["mean"] == pytest.approx(10)
    assert rep["per_landmark"]["b"]["n"] == 0 and math.isnan(rep["per_landmark"]["b"]["MRE_px"])


def test_unknown_spacing_reports_pixels_only():
    pred, truth, vis, _ = _layout([[3, 4]])
    rep = landmark_report(pred, truth, vis, np.array([np.nan]), ["a", "b"])
    assert rep["MRE_mm"] is None and rep["SDR"] is None
    assert headline(rep)["MRE"] == pytest.approx(3.5)
    assert "MRE_px" in format_report(rep)


def test_ruler_calibration_error_is_relative_to_true_ruler_length():
    truth = np.array([[[100.0, 100.0], [100.0, 300.0]]])  # p1-p2 200 px apart
    pred = np.array([[[100.0, 100.0], [100.0, 304.0]]])  # predicted 204 px
    rep = landmark_report(pred, truth, np.ones((1, 2)), np.array([0.1]), ["p1", "p2"])
    cal = rep["ruler_calibration"]
    assert cal["ruler_length_error_px"]["mean"] == pytest.approx(4.0)
    assert cal["mm_per_px_relative_error_pct"]["mean"] == pytest.approx(abs(200 / 204 - 1) * 100)
    assert "ruler calibration" in format_report(rep)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="shape mismatch"):
        landmark_report(np.zeros((1, 3, 2)), np.zeros((1, 2, 2)), np.ones((1, 2)), np.ones(1), ["a", "b"])
