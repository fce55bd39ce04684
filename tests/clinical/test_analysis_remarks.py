"""What a table means beyond its rows: a 19-landmark model's analysis leaves out, and names once, the measurements it
can never compute; an angle normal by a clinical norm and out of the ISBI 2015 class 1 (or the reverse) says why."""
from __future__ import annotations

from zoo.clinical.analysis import analyze_prediction
from zoo.data.landmark_sets import get_landmark_set
from zoo.data.synthetic import SYMBOLS_31, make_sample

ISBI = get_landmark_set("isbi2015").symbols


def _entry(landmark_set="isbi2015", symbols=ISBI):
    points = dict(zip(SYMBOLS_31, make_sample(0, 0, (512, 640), 30.0).keypoints))
    return {"landmark_set": landmark_set, "mm_per_pixel": 0.1, "mm_per_pixel_source": "given",
            "landmarks": {s: {"x": float(points[s][0]), "y": float(points[s][1]), "confidence": 0.9,
                              "low_confidence": False} for s in symbols}}


def test_a_19_landmark_model_is_not_offered_what_it_can_never_measure():
    analysis = analyze_prediction(_entry())
    keys = [r.key for r in analysis.rows]
    for never in ("IMPA", "FMIA", "H-angle"):
        assert not any(k.startswith(never) for k in keys), keys
    assert all(r.reason is None or "missing landmark" not in r.reason for r in analysis.rows)
    [remark] = [r for r in analysis.remarks if r.startswith("not measurable")]
    assert "it never finds LIA, N', Pn" in remark and "IMPA (L1 to Go-Me)" in remark and "H-angle" in remark
    assert remark in analysis.to_text() and analysis.to_dict()["remarks"] == analysis.remarks


def test_a_landmark_the_model_has_but_did_not_give_keeps_its_row():
    entry = _entry()
    del entry["landmarks"]["A"]
    assert "missing landmark: A" in analysis_reason(entry, "ANB")
    unknown = _entry(landmark_set="my_clinic_set.json")  # a set this zoo cannot read: nothing is left out
    assert "missing landmark" in analysis_reason(unknown, "IMPA")


def analysis_reason(entry, key):
    return analyze_prediction(entry)[key].reason


def test_anb_within_steiners_norm_and_class_iii_says_why():
    analysis = analyze_prediction(_entry())
    anb, isbi_anb = analysis["ANB"], analysis["ISBI:ANB"]
    assert 0 < anb.value < 3.2 and anb.interpretation == "within norm" and isbi_anb.interpretation == "Class III"
    [remark] = [r for r in analysis.remarks if r.startswith("ANB ")]
    assert "within norm by Steiner's norm (2 ± 2" in remark and "Class III in the ISBI 2015 classes, whose class 1 " \
           "is 3.2-5.7 deg" in remark and "not a clinical norm" in remark
    agree = [r for r in analysis.remarks if r.startswith(("SNA ",))]
    assert (analysis["SNA"].interpretation == "within norm") != (analysis["ISBI:SNA"].class_id == 1) or not agree
