"""Pixel size: a given spacing wins over the predicted ruler; a disagreement is reported; an implausible
ruler is flagged and never used.

The landmarks are a synthetic head (``zoo.data.synthetic.make_sample``) redrawn at 0.1 mm/px, the ISBI pixel
size, on a 2152x2690 image; the predictor is the real :class:`Predictor` with its model replaced by those
landmarks, so every figure here comes from the code path ``zoo predict``, ``zoo analyze`` and the API share.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from zoo.clinical import analyze, analyze_prediction
from zoo.clinical.calibration import DISAGREEMENT, calibrate

SPACING = 0.1
P1, P2 = 29, 30  # ceph31 order: the 29 of Aariz, then the ruler


def _head(index: int = 0, spacing: float | None = SPACING):
    """(31, 2) true landmarks, (W, H), mm/px: sample ``index`` at ``spacing`` (None: as made, 512x640)."""
    from zoo.data.synthetic import make_sample

    s = make_sample(0, index, (512, 640))
    if spacing is None:
        return s.keypoints.copy(), (512, 640), s.spacing
    scale = s.spacing / spacing
    return s.keypoints * scale, (int(512 * scale), int(640 * scale)), spacing


def _ruler_scaled(points: np.ndarray, factor: float) -> np.ndarray:
    """p2 moved along the ruler so that p1-p2 is ``factor`` times its true length."""
    out = points.copy()
    out[P2] = out[P1] + (out[P2] - out[P1]) * factor
    return out


def _predictor(points, scores=None, ruler_mm=30.0, min_confidence=0.25):
    from zoo.data.synthetic import SYMBOLS_31
    from zoo.inference import Predictor

    preprocess = {"input_size": [64, 64], "channels": 1, "pad_value": 0, "mean": [0.0], "std": [1.0]}
    meta = {"preprocess": preprocess, "landmark_symbols": list(SYMBOLS_31), "landmark_set": "ceph31",
            "ruler_mm": ruler_mm}
    predictor = Predictor(None, meta, min_confidence, orientation="fixed")  # the landmarks are given as they lie
    scores = np.full(len(points), 0.9) if scores is None else np.asarray(scores, float)
    from zoo.quality import Reading

    xy = np.asarray(points, float)
    predictor.read = lambda img, coarse=None: Reading(list(SYMBOLS_31), xy, scores, xy, scores)
    return predictor


def _predict(points, size, scores=None, **kwargs) -> dict:
    w, h = size
    return _predictor(points, scores).predict(np.zeros((h, w), np.uint8), name="ceph.png", **kwargs)


def _true_lafh(points) -> float:
    from zoo.data.synthetic import SYMBOLS_31

    ans, me = points[SYMBOLS_31.index("ANS")], points[SYMBOLS_31.index("Me")]
    return float(np.hypot(*(ans - me))) * SPACING


def test_a_given_spacing_wins_over_a_ruler_predicted_40_percent_short():
    points, size, _ = _head()
    truth = _true_lafh(points)
    entry = _predict(_ruler_scaled(points, 0.6), size, spacing_mm=SPACING)
    # before: the ruler's pixel size replaced the given one, and the lower face height came out 67 % long
    ruler_scale = entry["calibration"]["ruler"]
    assert ruler_scale == pytest.approx(SPACING / 0.6)
    before = analyze(entry["landmarks"], ruler_scale)["LAFH"]
    assert before.value == pytest.approx(truth / 0.6) and before.value == pytest.approx(118.34, abs=0.01)
    assert before.deviation == pytest.approx(7.94, abs=0.01)
    # after: the given one is used, both are reported, and the disagreement is a warning
    assert entry["mm_per_pixel"] == SPACING and entry["mm_per_pixel_source"] == "given"
    assert entry["calibration"]["given"] == SPACING
    assert entry["calibration"]["disagreement"] == pytest.approx(2 / 3)
    assert entry["landmarks"]["S"]["x_mm"] == pytest.approx(entry["landmarks"]["S"]["x"] * SPACING)
    assert entry["ruler"]["used"] is False and entry["ruler"]["mm_per_pixel"] == pytest.approx(SPACING / 0.6)
    [warning] = entry["warnings"]
    assert "the given pixel size 0.1 mm/px and the ruler's 0.1667 mm/px" in warning
    assert "disagree by 67 %" in warning
    assert "S-N would be 119.9 mm" in warning and "the given 0.1 mm/px is used" in warning
    after = analyze_prediction(entry)
    assert after["LAFH"].value == pytest.approx(truth) and truth == pytest.approx(71.01, abs=0.01)
    assert after.mm_per_pixel_source == "given" and after.notes == entry["warnings"]


def test_the_reported_case_a_ruler_8x_too_long_no_longer_gives_a_lower_face_of_8_6_mm():
    """A reported lower face height of 8.55 mm (-10.4 SD) came from a ruler about 8.3 times its true length."""
    points, size, _ = _head()
    entry = _predict(_ruler_scaled(points, 8.26), size, spacing_mm=SPACING)
    before = analyze(entry["landmarks"], entry["calibration"]["ruler"])["LAFH"]
    assert before.value == pytest.approx(8.60, abs=0.01)
    assert before.deviation == pytest.approx(-10.35, abs=0.01)
    assert analyze_prediction(entry)["LAFH"].value == pytest.approx(_true_lafh(points))
    problems = entry["ruler"]["problems"]
    assert problems[0].startswith("p2 (2098, 2882) is outside the 2152x2690 image")
    assert "at its 0.01211 mm/px the image's longer side would be 33 mm" in problems[1]
    assert "at its 0.01211 mm/px S-N would be 8.7 mm" in problems[2]
    assert entry["calibration"]["disagreement"] == pytest.approx(1 - 1 / 8.26)


@pytest.mark.parametrize("off, warned", [(0.04, False), (0.06, True)])
def test_a_disagreement_over_5_percent_is_a_warning(off, warned):
    points, size, _ = _head()
    entry = _predict(_ruler_scaled(points, 1 / (1 + off)), size, spacing_mm=SPACING)
    assert entry["mm_per_pixel"] == SPACING and entry["calibration"]["disagreement"] == pytest.approx(off)
    assert (off > DISAGREEMENT) == warned and entry["ruler"]["plausible"] is not warned
    assert [f"disagree by {100 * off:.0f} %" in w for w in entry["warnings"]] == ([True] if warned else [])
    if warned:
        assert entry["ruler"]["problems"] == [f"p1-p2 is {300 / 1.06:.1f} px where the given 0.1 mm/px expects "
                                              "300.0 px (6 % off)"]


@pytest.mark.parametrize("spacing", [SPACING, None])
def test_true_rulers_are_used_when_no_spacing_is_given(spacing):
    """No false alarm on the first 40 synthetic heads, at the ISBI pixel size and as made (~0.4 mm/px); and
    the limit of checking without a given spacing: a ruler 40 % short is caught on every one of these
    adult-sized heads, one 20 % short on none (its lower face height reads 25 % long)."""
    for index in range(40):
        points, size, mm = _head(index, spacing)
        entry = _predict(points, size)
        assert entry["ruler"]["problems"] == [], index
        assert entry["mm_per_pixel_source"] == "ruler"
        assert entry["mm_per_pixel"] == pytest.approx(mm, rel=1e-9)
        assert entry["ruler"]["used"] and entry["warnings"] == [] and "calibration" not in entry
        assert _predict(_ruler_scaled(points, 0.6), size)["mm_per_pixel"] is None, index
        assert _predict(_ruler_scaled(points, 0.8), size)["mm_per_pixel"] == pytest.approx(mm / 0.8), index


def _low_p1(points, scores):
    scores[P1] = 0.1


def _outside(points, scores):
    points[[P1, P2], 1] += 2690  # the same ruler, moved below the image


def _coincide(points, scores):
    points[P2] = points[P1] + (0.3, 0.0)


def _short(points, scores):
    points[:] = _ruler_scaled(points, 0.6)


def _long(points, scores):
    points[:] = _ruler_scaled(points, 8.26)


@pytest.mark.parametrize("fault, reason", [
    (_low_p1, "low-confidence p1"),
    (_outside, "p1 (2031, 3095) is outside the 2152x2690 image"),
    (_coincide, "p1 and p2 coincide (0.30 px apart)"),
    (_short, "at its 0.1667 mm/px S-N would be 119.9 mm"),
    (_long, "the image's longer side would be 33 mm"),
], ids=["low confidence", "outside the image", "coincident", "40% short", "8x long"])
def test_an_implausible_ruler_is_flagged_by_name_and_not_used(fault, reason):
    points, size, _ = _head()
    scores = np.full(len(points), 0.9)
    fault(points, scores)
    entry = _predict(points, size, scores)
    assert entry["mm_per_pixel"] is None and entry["mm_per_pixel_source"] is None
    assert not any("x_mm" in lm for lm in entry["landmarks"].values())
    assert entry["ruler"]["used"] is False and entry["ruler"]["plausible"] is False
    assert any(reason in p for p in entry["ruler"]["problems"]), entry["ruler"]["problems"]
    [warning] = entry["warnings"]
    assert warning.startswith("the ruler p1/p2 is not used (") and "mm values are left out" in warning
    row = analyze_prediction(entry)["LAFH"]
    assert row.value is None and row.reason.startswith("needs the pixel size")


def test_a_given_spacing_that_makes_no_sense_is_used_but_warned():
    points, size, _ = _head()
    entry = _predict(points, size, spacing_mm=1.0)  # a typo for 0.1: the head would be 2.7 m tall
    assert entry["mm_per_pixel"] == 1.0 and entry["mm_per_pixel_source"] == "given"
    assert any("the given pixel size 1 mm/px looks wrong: the image's longer side would be 2690 mm" in w
               for w in entry["warnings"])


def test_a_predictions_file_from_before_the_check_has_its_ruler_checked_again():
    """Entries written when the ruler was used unchecked carry its scale as ``mm_per_pixel``: not trusted."""
    points, size, _ = _head()
    entry = _predict(_ruler_scaled(points, 8.26), size)
    old = {**entry, "mm_per_pixel": 30.0 / entry["ruler"]["length_px"], "mm_per_pixel_source": "ruler",
           "ruler": {k: entry["ruler"][k] for k in ("length_mm", "length_px", "low_confidence")}}
    for key in ("warnings", "calibration"):
        old.pop(key, None)
    analysis = analyze_prediction(old)
    assert analysis.mm_per_pixel is None and analysis["LAFH"].value is None
    assert analysis.notes[0].startswith("the ruler p1/p2 is not used (p2 (2098, 2882) is outside")


def test_calibrate_refuses_a_nonsense_given_spacing():
    from zoo.clinical import ClinicalError

    for bad in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ClinicalError, match="must be a positive number"):
            calibrate({}, given=bad)
    assert calibrate({"p1": (0, 0)}, ruler_mm=30.0).ruler is None  # no p2: no ruler to read, nothing to say


# -- the same through the command line and the API ------------------------------------------------------
def _zoo(argv, capsys) -> tuple[int, str, str]:
    from zoo.cli import main

    code = 0
    try:
        main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def served_head(tmp_path, monkeypatch):
    """An image file and ``Predictor.from_path`` answering the 8x-long ruler head for any model path."""
    import cv2

    from zoo.inference import Predictor

    points, (w, h), _ = _head()
    fake = _predictor(_ruler_scaled(points, 8.26))
    monkeypatch.setattr(Predictor, "from_path", classmethod(lambda cls, path, **kwargs: fake))
    image = tmp_path / "ceph 1.png"
    cv2.imwrite(str(image), np.zeros((h, w), np.uint8))
    return image, _true_lafh(points)


def test_zoo_predict_then_zoo_analyze_keep_the_given_spacing(served_head, tmp_path, capsys):
    """The reported path: ``zoo predict --spacing-mm 0.1 --out`` then ``zoo analyze`` on the file."""
    image, truth = served_head
    preds = tmp_path / "preds.json"
    code, _, err = _zoo(["predict", "model.pth", image, "--spacing-mm", SPACING, "--out", preds], capsys)
    assert code == 0, err
    assert f"warning: {image}: the given pixel size 0.1 mm/px and the ruler's 0.01211 mm/px" in err
    entry = json.loads(preds.read_text())["predictions"][0]
    assert entry["mm_per_pixel"] == SPACING
    assert entry["calibration"]["ruler"] == pytest.approx(0.012107, rel=1e-4)
    code, out, err = _zoo(["analyze", preds], capsys)
    assert code == 0, err
    assert "0.1 mm/px (given)" in out and f"{truth:.2f}" in out and "the ruler p1/p2 is implausible" in out
    code, out, _ = _zoo(["analyze", preds, "--format", "json", "--mm-per-pixel", 0.1], capsys)
    analysis = json.loads(out)["analyses"][0]["analysis"]
    lafh = next(m for m in analysis["measurements"] if m["key"] == "LAFH")
    assert lafh["value"] == pytest.approx(truth) and analysis["mm_per_pixel_source"] == "command line"
    assert analysis["calibration"]["disagreement"] == pytest.approx(1 - 1 / 8.26)
    code, _, err = _zoo(["predict", "model.pth", image, "--spacing-mm", -0.1], capsys)
    assert code == 2 and "--spacing-mm must be between 0.01 and 5 mm per pixel" in err and "got -0.1" in err


def test_zoo_analyze_through_a_model_passes_its_pixel_size_as_the_given_spacing(served_head, capsys):
    image, truth = served_head
    code, out, err = _zoo(["analyze", "--model", "model.pth", image, "--mm-per-pixel", SPACING, "-f", "json"],
                          capsys)
    assert code == 0, err
    analysis = json.loads(out)["analyses"][0]["analysis"]
    assert next(m for m in analysis["measurements"] if m["key"] == "LAFH")["value"] == pytest.approx(truth)
    assert analysis["ruler"]["used"] is False and "the ruler p1/p2 is implausible" in analysis["notes"][0]


def test_the_api_answers_both_pixel_sizes_and_the_warning(served_head):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from zoo.inference import Predictor
    from zoo.serve import create_app

    image, truth = served_head
    with TestClient(create_app(Predictor.from_path("model.pth"))) as client:
        response = client.post("/v1/landmarks", files={"file": (image.name, image.read_bytes(), "image/png")},
                               data={"spacing_mm": "0.1"})
    assert response.status_code == 200, response.text
    entry = response.json()["predictions"][0]
    assert entry["mm_per_pixel"] == SPACING and entry["mm_per_pixel_source"] == "given"
    assert entry["calibration"]["given"] == SPACING
    assert entry["calibration"]["ruler"] == pytest.approx(0.012107, rel=1e-4)
    assert "disagree by 88 %" in entry["warnings"][0] and entry["ruler"]["used"] is False
    lafh = next(m for m in entry["analysis"]["measurements"] if m["key"] == "LAFH")
    assert lafh["value"] == pytest.approx(truth)


@pytest.mark.realdata
def test_the_bounds_pass_every_isbi_2015_truth(isbi_data):
    """The field-of-view and S-N bounds at ISBI's own 0.1 mm/px: no false alarm on its 300 annotated images
    (S-N there spans 46.7-69.0 mm: children and adults). Their limit on these smaller heads: the scale a
    ruler 40 % short gives is caught on 116 of 300; a scale off by a factor of 2 either way on all."""
    from zoo.clinical.calibration import scale_problems
    from zoo.registry import DATASETS, load_plugins

    load_plugins()
    checked = short = 0
    for split in ("train", "test1"):
        ds = DATASETS.build(dict(type="ISBI2015Dataset", data_root=str(isbi_data), split=split, pipeline=[]))
        symbols = ds.landmark_set.symbols
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            h, w = info["ori_shape"]
            points = dict(zip(symbols, info["ori_keypoints"]))
            assert scale_problems(info["spacing"], points, (), (w, h)) == [], info["img_path"]
            for factor in (0.5, 2.0):
                assert scale_problems(info["spacing"] * factor, points, (), (w, h)), (info["img_path"], factor)
            short += bool(scale_problems(info["spacing"] / 0.6, points, (), (w, h)))
            checked += 1
    assert checked == 300 and short == 116
