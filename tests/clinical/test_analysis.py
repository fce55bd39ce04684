"""``analyze``: unavailable rows say why, scale sources, norms files, the JSON/markdown block."""
from __future__ import annotations

import json

import numpy as np
import pytest
from clinical_layouts import polar, skull

from zoo.clinical import MEASUREMENTS, ClinicalError, analyze, analyze_prediction, load_norms
from zoo.clinical.norms import builtin_norms


def _entry(points, **extra):
    lm = {k: {"x": float(v[0]), "y": float(v[1]), "confidence": 0.9, "low_confidence": False}
          for k, v in points.items()}
    return {"image": "a b/001.png", "width": 2000, "height": 2400, "landmark_set": "aariz",
            "mm_per_pixel": 0.1, "mm_per_pixel_source": "metadata", "landmarks": lm, **extra}


def test_missing_landmarks_are_reported_not_dropped(layout):
    del layout["LIA"], layout["Pn"]
    a = analyze(layout, 0.1)
    assert len(a.rows) == len(MEASUREMENTS)
    assert not a["IMPA"].available and a["IMPA"].reason == "missing landmark: LIA"
    assert a["Ls-Eline"].reason == "missing landmark: Pn"
    assert a["IMPA"].to_dict()["value"] is None and a["IMPA"].to_dict()["available"] is False


def test_low_confidence_from_the_argument_and_from_the_entry(layout):
    a = analyze(layout, 0.1, low_confidence={"Go"})
    assert a["FMA"].reason == "low-confidence landmark: Go"
    assert a["SNA"].available
    entry = _entry(layout)
    entry["landmarks"]["N"]["low_confidence"] = True
    b = analyze_prediction(entry)
    assert b["SNA"].reason == "low-confidence landmark: N" and b["FMA"].available


def test_mm_rows_need_a_scale_and_a_ruler_provides_it(layout):
    a = analyze(layout, None)
    assert a["LAFH"].reason.startswith("needs the pixel size") and a["LAFH%"].available
    layout["p1"], layout["p2"] = np.array([50.0, 50.0]), np.array([50.0, 250.0])  # 200 px
    b = analyze(layout, None, ruler_mm=20.0)
    assert b.mm_per_pixel == pytest.approx(0.1) and b.mm_per_pixel_source == "ruler"
    assert b["LAFH"].value == pytest.approx(analyze(layout, 0.1)["LAFH"].value)
    with pytest.raises(ClinicalError, match="mm_per_pixel"):
        analyze(layout, -1.0)
    # a ruler the entry flags low-confidence is no longer used (it once only earned a note): mm rows say why
    entry = _entry(layout, mm_per_pixel=0.1, mm_per_pixel_source="ruler",
                   ruler={"length_mm": 20.0, "length_px": 200.0, "low_confidence": True})
    doubtful = analyze_prediction(entry)
    assert doubtful.mm_per_pixel is None and doubtful["LAFH"].value is None
    assert "ruler p1/p2 is not used (low-confidence p1, p2)" in doubtful.notes[0]


def test_which_rows_each_landmark_set_allows():
    from zoo.data.landmark_sets import get_landmark_set

    full = skull()
    for name, unavailable in (("isbi2015", {"IMPA", "FMIA", "Ls-Eline", "Li-Eline", "H-angle"}),
                              ("aariz", set()), ("ceph31", set())):
        symbols = get_landmark_set(name).symbols
        a = analyze({s: full[s] for s in symbols if s in full}, 0.1)
        assert {r.key for r in a.rows if not r.available} == unavailable, name


def test_interpretation_and_deviation(layout):
    a = analyze(layout, 0.1)
    sna = a["SNA"]
    assert sna.deviation == pytest.approx(0.0) and sna.interpretation == "within norm"
    layout["A"] = polar(layout["N"], 180 - 87.0, 500)
    hi = analyze(layout, 0.1)["SNA"]
    assert hi.value == pytest.approx(87.0) and hi.deviation == pytest.approx(2.5)
    assert hi.interpretation == "prognathic maxilla"
    isbi_anb = a["ISBI:ANB"]
    assert isbi_anb.class_id == 3 and isbi_anb.normal_range == "3.2-5.7" and isbi_anb.deviation is None


def test_to_dict_is_strict_json_and_markdown_has_every_row(layout):
    del layout["Pn"]
    a = analyze(layout, 0.1)
    d = json.loads(json.dumps(a.to_dict(), allow_nan=False))
    assert d["mm_per_pixel"] == 0.1 and d["profile_facing"] == "right" and d["norms"] == "classic"
    assert [m["key"] for m in d["measurements"]] == [m.key for m in MEASUREMENTS]
    md = a.to_markdown().splitlines()
    assert len([ln for ln in md if ln.startswith("| ")]) == len(MEASUREMENTS) + 1
    assert "unavailable: missing landmark: Pn" in a.to_markdown()
    assert "IMPA" in a.to_text() and "95.00" in a.to_text()


def test_norms_files_json_and_yaml(tmp_path, layout):
    assert "classic" in builtin_norms()
    folder = tmp_path / "my norms"
    folder.mkdir()
    j = folder / "clinic a.json"
    j.write_text(json.dumps({"name": "clinic A", "norms": {"SNA": {"mean": 84, "sd": 4}}}))
    a = analyze(layout, 0.1, norms=j)
    assert a.norms == "clinic A" and a["SNA"].deviation == pytest.approx(-0.5)
    assert a["SNB"].norm is None and a["SNB"].interpretation is None and a["SNB"].available
    y = folder / "range.yaml"
    y.write_text("SNA:\n  low: 80\n  high: 81\n")
    b = analyze(layout, 0.1, norms=y)
    assert b.norms == "range" and b["SNA"].interpretation == "prognathic maxilla" and b["SNA"].deviation is None


@pytest.mark.parametrize("text, match", [
    ('{"norms": {"SNA": {"mean": 82}}}', "'sd' must be a finite number"),
    ('{"norms": {"SNA": {"mean": 82, "sd": 0}}}', "'sd' must be positive"),
    ('{"norms": {"SNA": {"low": 3, "high": 1}}}', "is above 'high'"),
    ('{"norms": {"SNA": 82}}', "expected"),
    ("{not json", "cannot parse"),
])
def test_bad_norms_files_name_the_file(tmp_path, text, match):
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(ClinicalError, match=match) as err:
        load_norms(f)
    assert str(f) in str(err.value)


def test_bad_input_errors():
    with pytest.raises(ClinicalError, match="not found"):
        load_norms("no-such-norms")
    with pytest.raises(ClinicalError, match="'S'"):
        analyze({"S": ("a", 1)})
    with pytest.raises(ClinicalError, match="entry 3"):
        analyze_prediction({"landmarks": None}, where="entry 3")


def test_coincident_landmarks_make_a_row_unavailable_not_a_crash(layout):
    layout["A"] = layout["N"].copy()
    a = analyze(layout, 0.1)
    assert a["SNA"].reason.startswith("degenerate geometry")
    assert a["SNB"].available


def test_unknown_profile_direction_is_noted():
    a = analyze({"LIT": (1, 2), "UIT": (4, 2)}, 0.1)
    assert a.facing == "unknown" and a.notes
    assert a["ISBI:MW"].value == pytest.approx(0.3)


def test_the_clinical_layer_does_not_load_torch():
    import subprocess
    import sys

    code = ("import sys, zoo.clinical, zoo.clinical.benchmark, zoo.commands.analyze; "
            "print(sorted(m for m in ('torch', 'timm', 'cv2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_synthetic_cephalograms_analyse_fully_with_the_ruler():
    """The synthetic generator's truth: every row available, scale from p1/p2 equal to its spacing."""
    from zoo.data.synthetic.generator import RULER_MM, SYMBOLS_31, make_sample

    for index in range(3):
        s = make_sample(seed=7, index=index, size=(160, 192))
        a = analyze(dict(zip(SYMBOLS_31, s.keypoints)), None, ruler_mm=RULER_MM)
        assert a.mm_per_pixel_source == "ruler" and a.mm_per_pixel == pytest.approx(s.spacing, rel=1e-6)
        assert a.facing == "right"
        assert [r.key for r in a.rows if not r.available] == []
        assert a["FMA"].value + a["IMPA"].value + a["FMIA"].value == pytest.approx(180.0)
        assert 70 < a["IMPA"].value < 120 and 40 < a["GonialAngle"].value < 160


def test_coincident_landmarks_make_rows_unavailable_not_crash():
    from zoo.clinical import analyze

    layout = {s: (100.0, 100.0) for s in ["S", "N", "A", "B", "Go", "Me", "Gn", "Pog", "Or", "Po", "Ar", "ANS"]}
    analysis = analyze(layout, mm_per_pixel=0.1)
    jarabak = analysis["Jarabak"]
    assert jarabak.value is None and "degenerate" in jarabak.reason
