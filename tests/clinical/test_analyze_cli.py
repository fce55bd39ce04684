"""``zoo analyze`` and ``tools/isbi_classification.py`` end to end (the model path with a stand-in predictor)."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import typer
from clinical_layouts import skull
from typer.testing import CliRunner

from zoo.clinical.isbi import ISBI_SYMBOLS
from zoo.commands import analyze as analyze_cmd

REPO = Path(__file__).resolve().parents[2]


def _app() -> typer.Typer:
    app = typer.Typer()
    analyze_cmd.register(app)

    @app.command("noop")  # a second command keeps typer from collapsing the app into one command
    def _noop():
        pass

    return app


def _entry(image, points, mm=0.1):
    return {"image": str(image), "width": 2000, "height": 2400, "landmark_set": "aariz",
            "mm_per_pixel": mm, "mm_per_pixel_source": "metadata" if mm else None,
            "landmarks": {k: {"x": float(v[0]), "y": float(v[1]), "confidence": 0.8, "low_confidence": False}
                          for k, v in points.items()}}


@pytest.fixture
def pred_file(tmp_path):
    f = tmp_path / "my preds" / "p.json"
    f.parent.mkdir()
    f.write_text(json.dumps({"model": {"name": "x"}, "predictions": [
        _entry("imgs/001.png", skull()), _entry("imgs/002.png", skull(), mm=None)]}))
    return f


def test_analyze_a_predictions_file_in_every_format(pred_file):
    runner = CliRunner()
    r = runner.invoke(_app(), ["analyze", str(pred_file)])
    assert r.exit_code == 0, r.output
    assert "imgs/001.png" in r.output and "IMPA (L1 to Go-Me)" in r.output and "95.00" in r.output
    assert "pixel size unknown" in r.output  # the second image
    r = runner.invoke(_app(), ["analyze", str(pred_file), "--format", "markdown"])
    assert r.exit_code == 0 and "| Tweed | IMPA (L1 to Go-Me) | 95.00 |" in r.output
    r = runner.invoke(_app(), ["analyze", str(pred_file), "-f", "json", "--mm-per-pixel", "0.2"])
    d = json.loads(r.output)
    assert [a["image"] for a in d["analyses"]] == ["imgs/001.png", "imgs/002.png"]
    lafh = [m for m in d["analyses"][1]["analysis"]["measurements"] if m["key"] == "LAFH"][0]
    assert lafh["available"] and d["analyses"][1]["analysis"]["mm_per_pixel_source"] == "command line"


def test_analyze_through_a_model(tmp_path, monkeypatch):
    """The --model path against the Predictor contract (from_path, predict -> one predictions entry)."""
    calls = []

    class FakePredictor:
        @classmethod
        def from_path(cls, path):
            calls.append(("from_path", path))
            return cls()

        def predict(self, image_path, **kwargs):
            calls.append(("predict", Path(image_path).name, kwargs))
            return _entry(image_path, skull())

    fake = types.ModuleType("zoo.inference.predictor")
    fake.Predictor = FakePredictor
    monkeypatch.setitem(sys.modules, "zoo.inference.predictor", fake)
    img = tmp_path / "a ceph.png"
    img.write_bytes(b"not read by the stand-in")
    r = CliRunner().invoke(_app(), ["analyze", "--model", "m.pth", str(img), "-f", "json"])
    assert r.exit_code == 0, r.output
    assert calls == [("from_path", "m.pth"), ("predict", "a ceph.png", {})]
    assert json.loads(r.output)["analyses"][0]["analysis"]["measurements"][0]["value"] == pytest.approx(82.0)
    r = CliRunner().invoke(_app(), ["analyze", "-m", "m.pth", str(img), "--ruler-mm", "10"])
    assert r.exit_code == 0 and calls[-1] == ("predict", "a ceph.png", {"ruler_mm": 10.0})


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"predictions": [{"image": "x.png"}]}')
    r = subprocess.run([sys.executable, "-m", "zoo.cli", "analyze", str(bad)], capture_output=True, text=True,
                       cwd=REPO)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: predictions file {bad}, entry 0: missing the 'landmarks' mapping"


@pytest.mark.realdata
def test_isbi_tool_truth_vs_truth_and_predictions(isbi_data, tmp_path):
    tool = REPO / "tools" / "isbi_classification.py"
    r = subprocess.run([sys.executable, str(tool), "--truth-vs-truth", "--data", str(isbi_data)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "150 images" in r.stdout and "| **average** | **100.00** |" in r.stdout
    # a predictions file holding the truth of three Test1 images, one of them with B moved 40 px back
    from zoo.clinical import isbi
    from zoo.clinical.benchmark import landmarks_array, read_truth, truth_file

    preds = []
    for i in (151, 152, 153):
        xy = read_truth(truth_file(isbi_data, i))
        if i == 152:
            xy[5, 0] -= 40.0
        preds.append(_entry(f"RawImage/Test1Data/{i}.bmp", dict(zip(ISBI_SYMBOLS, xy))))
    pf = tmp_path / "p.json"
    pf.write_text(json.dumps({"model": {}, "predictions": preds}))
    out = tmp_path / "r.json"
    r = subprocess.run([sys.executable, str(tool), "--pred", str(pf), "--data", str(isbi_data), "--json", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads(out.read_text())
    assert rep["n_images"] == 3 and rep["measures"]["SNA"]["diagonal_average"] == 1.0
    truth = [isbi.measure_classes(read_truth(truth_file(isbi_data, i))) for i in (151, 152, 153)]
    moved = [isbi.measure_classes(landmarks_array(p["landmarks"], "test")) for p in preds]
    assert truth[1]["SNB"] != moved[1]["SNB"]  # 4 mm is enough to change the mandible's class here
    for m in isbi.MEASURES:
        agree = sum(t[m] == p[m] for t, p in zip(truth, moved)) / 3
        assert rep["measures"][m]["agreement"] == pytest.approx(agree), m
    assert rep["measures"]["SNB"]["agreement"] == pytest.approx(2 / 3)
