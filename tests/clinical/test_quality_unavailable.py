"""The quality gate's verdict reaches every reader of a predictions entry: a rejected image is measured
nowhere (``zoo analyze`` in every format, ``analyze_prediction``), a suspect one is measured with a note, and
the Python API and the server's schema carry the verdict and the per-landmark uncertainty.

The verdicts are the gate's own (:func:`zoo.quality.judge` on calibrated thresholds), the landmarks the
constructed skull whose IMPA is 95 degrees by construction.
"""
from __future__ import annotations

import json

import pytest
from clinical_layouts import skull

from zoo.clinical import analyze, analyze_prediction
from zoo.commands.analyze import run_analyze
from zoo.quality import OK, REJECT, SUSPECT, judge
from zoo.quality.gate import thresholds_from_dict

THRESHOLDS = thresholds_from_dict({"shape_distance": {"suspect": 3.0, "reject": 6.0},
                                   "confidence": {"suspect": 0.3, "reject": 0.1}})


def _quality(shape_distance: float, confidence: float = 0.8) -> dict:
    signals = {"shape_distance": shape_distance, "confidence": confidence}
    return judge(signals, THRESHOLDS, off_shape=["Me", "Go"]).to_dict()


def _entry(image: str, quality: dict | None, mm: float | None = 0.1) -> dict:
    entry = {"image": image, "width": 2000, "height": 2400, "landmark_set": "aariz",
             "mm_per_pixel": mm, "mm_per_pixel_source": "given" if mm else None,
             "landmarks": {k: {"x": float(v[0]), "y": float(v[1]), "confidence": 0.8, "low_confidence": False,
                               "uncertainty_px": 12.5, **({"uncertainty_mm": 1.25} if mm else {})}
                           for k, v in skull().items()},
             "uncertainty_coverage": 0.9, "warnings": []}
    if quality is not None:
        entry["quality"] = quality
    return entry


@pytest.fixture
def verdicts():
    rejected, suspect, ok = _quality(9.0), _quality(4.0), _quality(1.0)
    assert (rejected["status"], suspect["status"], ok["status"]) == (REJECT, SUSPECT, OK)
    return {"reject": rejected, "suspect": suspect, "ok": ok}


@pytest.fixture
def pred_file(tmp_path, verdicts):
    f = tmp_path / "preds.json"
    f.write_text(json.dumps({"model": {"name": "x"}, "predictions": [
        _entry("rejected.png", verdicts["reject"]), _entry("suspect.png", verdicts["suspect"]),
        _entry("fine.png", verdicts["ok"]), _entry("old.png", None)]}))
    return f


def test_a_rejected_entry_has_every_row_unavailable_with_the_gates_reason(verdicts):
    entry = _entry("rejected.png", verdicts["reject"])
    reason = verdicts["reject"]["reasons"][0]
    assert "shape_distance 9" in reason
    result = analyze_prediction(entry)
    assert result.rows and all(not r.available for r in result.rows)
    assert all(r.value is None and r.deviation is None and r.class_id is None and r.interpretation is None
               for r in result.rows)
    assert {r.reason for r in result.rows} == {"image rejected by the quality gate"}
    assert result.notes[0].startswith(f"image rejected by the quality gate ({reason}")
    # the landmarks themselves would measure: the same entry without a verdict gives IMPA 95
    unjudged = {k: v for k, v in entry.items() if k != "quality"}
    assert analyze_prediction(unjudged)["IMPA"].value == pytest.approx(95.0, abs=1e-6)
    # the raw-landmarks API knows nothing of the gate
    assert analyze(skull(), 0.1)["IMPA"].value == pytest.approx(95.0, abs=1e-6)


def test_a_rejected_entry_without_reasons_is_still_unavailable():
    result = analyze_prediction(_entry("x.png", {"status": REJECT, "reasons": [], "signals": {}}))
    assert all(r.value is None and r.reason == "image rejected by the quality gate" for r in result.rows)


def test_a_suspect_entry_is_measured_and_noted(verdicts):
    result = analyze_prediction(_entry("suspect.png", verdicts["suspect"]))
    assert result["IMPA"].value == pytest.approx(95.0, abs=1e-6)
    assert result["LAFH"].available  # mm rows too (0.1 mm/px)
    assert f"quality gate: suspect ({'; '.join(verdicts['suspect']['reasons'])})" in result.notes
    ok = analyze_prediction(_entry("fine.png", verdicts["ok"]))
    assert ok["IMPA"].value == pytest.approx(95.0, abs=1e-6)
    assert not any("quality gate" in n for n in ok.notes)


def test_run_analyze_json(pred_file, verdicts):
    out = json.loads(run_analyze([pred_file], fmt="json"))
    by_image = {a["image"]: a["analysis"] for a in out["analyses"]}
    rejected = by_image["rejected.png"]
    assert rejected["measurements"] and all(
        m["available"] is False and m["value"] is None and m["deviation_sd"] is None and m["class"] is None
        and m["reason"] == "image rejected by the quality gate" for m in rejected["measurements"])
    assert any("image rejected by the quality gate" in n for n in rejected["notes"])
    for image in ("suspect.png", "fine.png", "old.png"):
        impa = next(m for m in by_image[image]["measurements"] if m["key"] == "IMPA")
        assert impa["available"] and impa["value"] == pytest.approx(95.0, abs=1e-6), image
    assert any(n.startswith("quality gate: suspect (") for n in by_image["suspect.png"]["notes"])


def test_run_analyze_text_and_markdown(pred_file, verdicts):
    reason = verdicts["reject"]["reasons"][0]
    text = run_analyze([pred_file], fmt="text")
    blocks = {b.split("  ", 1)[0]: b for b in text.split("\n\n")}
    assert set(blocks) == {"rejected.png", "suspect.png", "fine.png", "old.png"}
    rejected = blocks["rejected.png"]
    assert "UNAVAILABLE: rejected by the quality gate" in rejected.splitlines()[0]
    assert "95.00" not in rejected
    assert "unavailable: image rejected by the quality gate" in rejected and reason in rejected  # the note
    assert "IMPA (L1 to Go-Me)" in rejected  # the rows stay, each saying why it is empty
    assert "95.00" in blocks["suspect.png"] and "quality gate: suspect (" in blocks["suspect.png"]
    assert "SUSPECT" in blocks["suspect.png"].splitlines()[0]
    for image in ("fine.png", "old.png"):
        assert "95.00" in blocks[image] and "quality gate" not in blocks[image].lower()

    md = run_analyze([pred_file], fmt="markdown")
    sections = {s.split("\n", 1)[0].split("  ", 1)[0]: s for s in md.split("### ")[1:]}
    assert "UNAVAILABLE: rejected by the quality gate" in sections["rejected.png"].splitlines()[0]
    assert "| Tweed | IMPA (L1 to Go-Me) | n/a |" in sections["rejected.png"]
    assert "| 95.00 |" not in sections["rejected.png"]
    assert "| Tweed | IMPA (L1 to Go-Me) | 95.00 |" in sections["suspect.png"]
    assert "_quality gate: suspect (" in sections["suspect.png"]


def test_the_python_api_exposes_the_verdict_and_the_uncertainty(verdicts):
    from zoo.api import Prediction

    rejected = Prediction(_entry("rejected.png", verdicts["reject"]))
    assert rejected.status == REJECT and rejected.quality == verdicts["reject"]
    assert rejected.quality["off_shape_landmarks"] == ["Me", "Go"]
    assert rejected.uncertainty_coverage == 0.9
    assert rejected.landmarks["S"].uncertainty_px == 12.5 and rejected.landmarks["S"].uncertainty_mm == 1.25
    assert repr(rejected).endswith(", reject)")
    ok = Prediction(_entry("fine.png", verdicts["ok"], mm=None))
    assert ok.status == OK and "ok" not in repr(ok).split("'fine.png'")[1]
    assert ok.landmarks["S"].uncertainty_px == 12.5 and ok.landmarks["S"].uncertainty_mm is None
    old = Prediction({k: v for k, v in _entry("old.png", None).items() if k != "uncertainty_coverage"})
    assert old.status == "unchecked" and old.uncertainty_coverage is None


def test_the_server_schema_documents_the_new_fields(verdicts):
    pytest.importorskip("pydantic")
    from zoo.serve.schemas import Prediction

    doc = Prediction.model_validate(_entry("rejected.png", verdicts["reject"]))
    assert doc.quality.status == REJECT and doc.quality.reasons == verdicts["reject"]["reasons"]
    assert doc.quality.off_shape_landmarks == ["Me", "Go"]
    assert doc.quality.signals["shape_distance"] == pytest.approx(9.0)
    assert doc.uncertainty_coverage == 0.9 and doc.landmarks["S"].uncertainty_mm == 1.25
    assert Prediction.model_validate(_entry("old.png", None, mm=None)).quality is None
    with pytest.raises(ValueError):
        Prediction.model_validate(_entry("x.png", {"status": "maybe", "reasons": [], "signals": {}}))
    props = Prediction.model_json_schema()["$defs"]
    assert set(props["Quality"]["properties"]) == {"status", "reasons", "signals", "off_shape_landmarks"}
    assert {"uncertainty_px", "uncertainty_mm"} <= set(props["Landmark"]["properties"])
