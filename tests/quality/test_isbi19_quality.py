"""The shipped ``isbi19`` judges real input: a Test1 cephalogram passes with radii in mm, noise is rejected and
``zoo analyze`` measures nothing from it (skipped without the ISBI 2015 data)."""
from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def isbi19(isbi_data, one_torch_thread):
    from zoo.inference import Predictor
    from zoo.registry import load_plugins

    load_plugins()
    return Predictor.from_path("isbi19")


def test_a_test1_cephalogram_passes_with_uncertainty(isbi19, isbi_data):
    entry = isbi19.predict(isbi_data / "RawImage" / "Test1Data" / "151.jpg", spacing_mm=0.1)
    assert entry["quality"]["status"] == "ok", entry["quality"]
    radii = [lm["uncertainty_mm"] for lm in entry["landmarks"].values()]
    assert all(0.2 < r < 15 for r in radii) and entry["uncertainty_coverage"] == 0.9
    assert isbi19.describe()["canonical_orientation"]["profile_faces"] == "right"


def test_noise_is_rejected_and_never_measured(isbi19, tmp_path):
    import cv2

    from zoo.commands.analyze import run_analyze

    noise = np.random.default_rng(0).integers(0, 256, (2400, 1935), dtype=np.uint8)
    entry = isbi19.predict(noise, name="noise.png", spacing_mm=0.1)
    assert entry["quality"]["status"] == "reject" and entry["quality"]["reasons"]
    assert any(w.startswith("rejected:") for w in entry["warnings"])
    path = tmp_path / "noise image.png"
    cv2.imwrite(str(path), noise)
    out = json.loads(run_analyze([path], model="isbi19", fmt="json", mm_per_pixel=0.1))
    rows = out["analyses"][0]["analysis"]["measurements"]
    assert rows and all(r["value"] is None and not r["available"] for r in rows)


def test_the_server_answers_with_the_verdict_and_measures_nothing_from_a_rejected_image(isbi19, isbi_data):
    import cv2
    from fastapi.testclient import TestClient

    from zoo.serve import create_app

    client = TestClient(create_app(isbi19))
    noise = np.random.default_rng(1).integers(0, 256, (2400, 1935), dtype=np.uint8)
    ok, png = cv2.imencode(".png", noise)
    answer = client.post("/v1/landmarks", files={"file": ("noise.png", png.tobytes(), "image/png")},
                         data={"spacing_mm": "0.1", "analyze": "true"})
    assert answer.status_code == 200, answer.text
    entry = answer.json()["predictions"][0]
    assert entry["quality"]["status"] == "reject"
    assert all(m["value"] is None for m in entry["analysis"]["measurements"])
    real = (isbi_data / "RawImage" / "Test1Data" / "152.jpg").read_bytes()
    entry = client.post("/v1/landmarks", files={"file": ("152.jpg", real, "image/jpeg")},
                        data={"spacing_mm": "0.1"}).json()["predictions"][0]
    assert entry["quality"]["status"] == "ok" and entry["landmarks"]["S"]["uncertainty_mm"] > 0
    assert client.get("/v1/model").json()["canonical_orientation"]["profile_faces"] == "right"
