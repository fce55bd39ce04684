"""The verdict: one signal past its suspect threshold makes an image suspect, one past reject or two past suspect
reject it, each with its reason; thresholds set on clean validation values flag none of them."""
from __future__ import annotations

import math

import numpy as np
import pytest

from zoo.calibration import threshold_for
from zoo.quality import REJECT, SUSPECT, QualityError, judge
from zoo.quality.gate import Threshold, thresholds_from_dict

THRESHOLDS = {"shape_distance": Threshold(2.0, 3.0), "confidence": Threshold(0.5, 0.3),
              "view_spread_px": Threshold(10.0, 20.0)}
CLEAN = {"shape_distance": 1.0, "confidence": 0.8, "view_spread_px": 4.0}


def test_clean_signals_pass():
    verdict = judge(CLEAN, THRESHOLDS)
    assert verdict.status == "ok" and verdict.reasons == [] and verdict.usable


def test_one_signal_past_suspect_is_suspect_and_says_why():
    verdict = judge({**CLEAN, "confidence": 0.4}, THRESHOLDS)
    assert verdict.status == SUSPECT and verdict.usable
    assert len(verdict.reasons) == 1 and "confidence 0.4 < suspect threshold 0.5" in verdict.reasons[0]


def test_two_suspects_or_one_reject_reject():
    assert judge({**CLEAN, "confidence": 0.4, "view_spread_px": 12.0}, THRESHOLDS).status == REJECT
    verdict = judge({**CLEAN, "shape_distance": 9.0}, THRESHOLDS, off_shape=["Go", "Me"])
    assert verdict.status == REJECT and not verdict.usable
    assert any("Go, Me" in r for r in verdict.reasons) and verdict.to_dict()["off_shape_landmarks"] == ["Go", "Me"]


def test_a_non_finite_signal_rejects_and_reports_null():
    verdict = judge({**CLEAN, "view_spread_px": math.inf}, THRESHOLDS)
    assert verdict.status == REJECT and verdict.to_dict()["signals"]["view_spread_px"] is None


def test_signals_without_a_threshold_are_reported_not_judged():
    verdict = judge({**CLEAN, "orientation_margin": -5.0}, THRESHOLDS)
    assert verdict.status == "ok" and verdict.signals["orientation_margin"] == -5.0


def test_stored_thresholds_are_checked():
    assert thresholds_from_dict({"confidence": {"suspect": 0.5, "reject": 0.3}})["confidence"] == Threshold(0.5, 0.3)
    with pytest.raises(QualityError, match="beyond"):
        thresholds_from_dict({"confidence": {"suspect": 0.3, "reject": 0.5}})
    with pytest.raises(QualityError, match="unknown quality signal 'sharpness'"):
        thresholds_from_dict({"sharpness": {"suspect": 1, "reject": 2}})
    with pytest.raises(QualityError, match="numeric"):
        thresholds_from_dict({"confidence": {"suspect": "high"}})


@pytest.mark.parametrize("direction", ["high", "low"])
def test_thresholds_from_clean_values_flag_none_of_them(direction):
    values = np.random.default_rng(0).normal(5.0, 1.0, 20)
    t = threshold_for(values, direction)
    assert all(t.level(v, direction) == "ok" for v in values)
    far = 5.0 + (30.0 if direction == "high" else -30.0)
    assert t.level(far, direction) == REJECT
    assert (t.reject > t.suspect) if direction == "high" else (t.reject < t.suspect)


def test_a_signal_that_never_varies_still_gets_usable_thresholds():
    t = threshold_for([0.0] * 20, "high")
    assert t.level(0.0, "high") == "ok" and t.level(1.0, "high") == REJECT
