"""The API answers exactly what the predictor (and so ``zoo predict``) gives for the same file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from serve_helpers import assert_same_landmarks, build_tiny_checkpoint, post_image, running_server


def test_health_and_model(server, predictor, tiny_model):
    with httpx.Client(timeout=30) as client:
        health = client.get(f"{server}/healthz").json()
        info = client.get(f"{server}/v1/model").json()
    assert health == {"status": "ok", "model": "tiny ceph", "running": 0, "waiting": 0, "max_concurrency": 2}
    # preprocessing, as the clients are told, is the checkpoint's own metadata, verbatim
    assert info["preprocess"] == predictor.meta["preprocess"]
    assert info["input_size"] == info["preprocess"]["input_size"] == [128, 128]
    assert info["preprocess"]["letterbox"] is True
    assert info["landmark_set"] == "isbi2015" and len(info["landmarks"]) == 19
    assert info["landmarks"][:3] == ["S", "N", "Or"] and info["landmark_names"][0] == "Sella"
    assert info["source"] == "tiny ceph.pth"  # the file name, never the server's directories
    import hashlib

    assert info["sha256"] == hashlib.sha256(Path(tiny_model).read_bytes()).hexdigest()
    assert "SNA" in info["measurements"] and info["limits"]["max_concurrency"] == 2


@pytest.mark.parametrize("fmt", ["png", "jpeg", "bmp", "png16"])
def test_landmarks_match_the_predictor(server, predictor, images, fmt):
    path = images[fmt]
    with httpx.Client(timeout=60) as client:
        response = post_image(client, server, path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["name"] == "tiny ceph" and body["model"]["version"]
    (entry,) = body["predictions"]
    local = predictor.predict(path)
    assert entry["image"] == path.name
    assert_same_landmarks(entry, local)
    import cv2

    h, w = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]
    assert (entry["width"], entry["height"]) == (w, h)  # original pixels, not the 128x128 input


def test_spacing_gives_mm_and_analysis(server, predictor, images):
    with httpx.Client(timeout=60) as client:
        response = post_image(client, server, images["png"], spacing_mm=0.1)
        plain = post_image(client, server, images["png"], analyze="false")
    entry = response.json()["predictions"][0]
    assert entry["mm_per_pixel"] == pytest.approx(0.1) and entry["mm_per_pixel_source"] == "given"
    s = entry["landmarks"]["S"]
    assert s["x_mm"] == pytest.approx(s["x"] * 0.1) and s["y_mm"] == pytest.approx(s["y"] * 0.1)
    assert_same_landmarks(entry, predictor.predict(images["png"], spacing_mm=0.1))
    rows = {m["key"]: m for m in entry["analysis"]["measurements"]}
    assert {"SNA", "SNB", "ANB"} <= set(rows)
    assert entry["analysis"]["mm_per_pixel"] == pytest.approx(0.1)
    assert "analysis" not in plain.json()["predictions"][0]


def test_empty_fields_are_read_as_not_given_and_documented_so(server, predictor, images):
    """An HTML form (or ``curl -F ruler_mm=``) sends a field left empty as an empty value; the answer is the one
    without those fields, and the OpenAPI document allows exactly that, so a client validating against it agrees."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs", reason="comes with schemathesis (pip install -e '.[dev]')")

    with httpx.Client(timeout=60) as client:
        blank = post_image(client, server, images["png"], ruler_mm="", spacing_mm=" ", analyze="")
        schema = client.get(f"{server}/openapi.json").json()
    assert blank.status_code == 200, blank.text
    entry = blank.json()["predictions"][0]
    assert entry["mm_per_pixel"] is None and "analysis" in entry  # no calibration given; analyze's default
    assert_same_landmarks(entry, predictor.predict(images["png"]))
    form = schema["paths"]["/v1/landmarks"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    valid = jsonschema_rs.validator_for(form).is_valid
    assert valid({"file": "ceph.png", "ruler_mm": "", "spacing_mm": " ", "analyze": ""})
    assert valid({"file": "ceph.png", "ruler_mm": 100, "analyze": False})
    assert not valid({"file": "ceph.png", "ruler_mm": "abc"}) and not valid({"file": "ceph.png", "ruler_mm": -1})
    assert not valid({"file": "ceph.png", "analyze": "maybe"}) and not valid({"ruler_mm": 100})


def test_answer_is_a_predictions_file(server, images, tmp_path):
    """Saved as is (the viewer's download), the answer is what ``zoo analyze`` reads."""
    from zoo.clinical import analyze_prediction, read_predictions

    with httpx.Client(timeout=60) as client:
        body = post_image(client, server, images["jpeg"]).json()
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(body))
    (entry,) = read_predictions(saved)
    assert analyze_prediction(entry).to_dict()["measurements"]


@pytest.fixture(scope="module")
def ruler_server(tmp_path_factory):
    from zoo.inference import Predictor
    from zoo.serve import create_app

    path = build_tiny_checkpoint(tmp_path_factory.mktemp("ruler") / "ruler.pth",
                                 "heatmap/hm_hrnet-w18_b8-2k_p1p2-512.py")
    predictor = Predictor.from_path(path)
    with running_server(create_app(predictor)) as url:
        yield url, predictor


def test_the_ruler_is_reported_and_a_given_spacing_wins(ruler_server, images):
    """The API answers what the predictor does: the untrained ruler model's p1/p2 are implausible, so they are
    reported with their problems and not used; a given pixel size is used, with both sizes and a warning."""
    url, predictor = ruler_server
    with httpx.Client(timeout=60) as client:
        info = client.get(f"{url}/v1/model").json()
        ruled = post_image(client, url, images["bmp"], ruler_mm=10).json()["predictions"][0]
        given = post_image(client, url, images["bmp"], ruler_mm=10, spacing_mm=0.1).json()["predictions"][0]
    assert info["landmarks"] == ["p1", "p2"] and info["measurements"] == []
    local = predictor.predict(images["bmp"], ruler_mm=10)
    p1, p2 = local["landmarks"]["p1"], local["landmarks"]["p2"]
    length_px = ((p1["x"] - p2["x"]) ** 2 + (p1["y"] - p2["y"]) ** 2) ** 0.5
    assert ruled["ruler"]["length_mm"] == 10 and ruled["ruler"]["length_px"] == pytest.approx(length_px, rel=1e-5)
    assert ruled["ruler"] == local["ruler"] and ruled["warnings"] == local["warnings"]
    assert ruled["ruler"]["plausible"] is False and ruled["ruler"]["problems"] and ruled["warnings"]
    assert ruled["mm_per_pixel"] is None and "x_mm" not in ruled["landmarks"]["p1"]
    assert given["mm_per_pixel_source"] == "given" and given["mm_per_pixel"] == pytest.approx(0.1)
    assert given["calibration"]["given"] == pytest.approx(0.1)
    assert given["calibration"]["ruler"] == pytest.approx(10 / length_px, rel=1e-5)
    assert given["landmarks"]["p2"]["x_mm"] == pytest.approx(p2["x"] * 0.1, rel=1e-5)
    assert "analysis" not in given  # no measurement uses only p1/p2


def test_real_isbi_image(server, predictor, isbi_data):
    path = next(p for p in sorted((isbi_data / "RawImage").rglob("*")) if p.suffix.lower() in (".bmp", ".jpg", ".png"))
    with httpx.Client(timeout=120) as client:
        response = post_image(client, server, path)
    assert response.status_code == 200, response.text
    entry = response.json()["predictions"][0]
    assert (entry["width"], entry["height"]) == (1935, 2400)
    assert_same_landmarks(entry, predictor.predict(path))


def test_same_landmarks_as_zoo_predict(server, tiny_model, images, tmp_path):
    """Through the CLI when this checkout has ``zoo predict`` (another engineer's command)."""
    from zoo.cli import COMMAND_MODULES

    if "zoo.commands.predict" not in COMMAND_MODULES:
        pytest.skip("`zoo predict` is not in this checkout yet")
    out = tmp_path / "pred.json"
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "zoo.cli", "predict", str(tiny_model), str(images["png16"]),
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    (cli_entry,) = json.loads(out.read_text())["predictions"]
    with httpx.Client(timeout=60) as client:
        api_entry = post_image(client, server, images["png16"]).json()["predictions"][0]
    assert_same_landmarks(api_entry, cli_entry)


def test_viewer_and_docs_are_offline(server):
    with httpx.Client(timeout=30) as client:
        page = client.get(f"{server}/")
        docs = client.get(f"{server}/docs")
        schema = client.get(f"{server}/openapi.json").json()
        assets = [client.get(f"{server}/static/{name}") for name in ("viewer.js", "viewer.css")]
    assert page.status_code == 200 and "ceph-zoo viewer" in page.text
    assert all(a.status_code == 200 for a in assets)
    for text in (page.text, docs.text, *(a.text for a in assets)):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {"/v1/landmarks", "/v1/model", "/healthz"} <= set(schema["paths"])
    form = schema["paths"]["/v1/landmarks"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"] and set(form["properties"]) == {"file", "ruler_mm", "spacing_mm", "analyze"}


def test_cors_only_for_named_origins(server, predictor, images):
    from zoo.serve import create_app

    front = "http://localhost:3000"
    preflight = {"Origin": front, "Access-Control-Request-Method": "POST"}
    with httpx.Client(timeout=30) as client:
        assert "access-control-allow-origin" not in client.get(f"{server}/healthz", headers={"Origin": front}).headers
    with running_server(create_app(predictor, cors_origins=[front])) as url, httpx.Client(timeout=60) as client:
        allowed = client.options(f"{url}/v1/landmarks", headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == front
        with images["png"].open("rb") as fh:
            answer = client.post(f"{url}/v1/landmarks", files={"file": ("a.png", fh)}, headers={"Origin": front})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == front
        other = client.options(f"{url}/v1/landmarks", headers=dict(preflight, Origin="http://elsewhere.test"))
        assert other.headers.get("access-control-allow-origin") != "http://elsewhere.test"


def test_exported_onnx_model_is_served(onnx_model, images):
    from zoo.inference import Predictor
    from zoo.serve import create_app

    onnx_predictor = Predictor.from_path(onnx_model)
    with running_server(create_app(onnx_predictor)) as url, httpx.Client(timeout=60) as client:
        info = client.get(f"{url}/v1/model").json()
        entry = post_image(client, url, images["png16"], spacing_mm=0.1).json()["predictions"][0]
    assert info["runtime"] == "onnxruntime" and info["name"] == "tiny ceph"
    assert info["preprocess"] == onnx_predictor.meta["preprocess"]
    assert_same_landmarks(entry, onnx_predictor.predict(images["png16"], spacing_mm=0.1))
