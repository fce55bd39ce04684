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
