"""The shipped ``isbi19`` on a real Test1 cephalogram stored at half its resolution (0.2 mm/px, as another machine or
an archive stores it): read at its own pixel size, given or estimated from the anatomy, it reads as at 0.1 mm/px;
read as it lies (as before #39) it reads worse and the gate never calls it ok (skipped without the ISBI 2015 data)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def isbi19(isbi_data, one_torch_thread):
    from zoo.inference import Predictor
    from zoo.registry import load_plugins

    load_plugins()
    return Predictor.from_path("isbi19")


def _mre_mm(entry, truth, factor) -> float:
    xy = np.array([[lm["x"], lm["y"]] for lm in entry["landmarks"].values()])
    return float(np.linalg.norm((xy + 0.5) / factor - 0.5 - truth, axis=1).mean() * 0.1)


def test_a_half_resolution_cephalogram_reads_as_at_full_resolution(isbi19, isbi_data):
    import cv2

    from zoo.data.datasets.isbi2015 import read_isbi_annotation

    image = cv2.imread(str(isbi_data / "RawImage" / "Test1Data" / "151.jpg"))
    truth = read_isbi_annotation(isbi_data / "AnnotationsByMD" / "400_senior" / "151.txt")
    half = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    fx = half.shape[1] / image.shape[1]
    native = _mre_mm(isbi19.predict(image, name="151.jpg", spacing_mm=0.1), truth, 1.0)

    given = isbi19.predict(half, name="151 half.jpg", spacing_mm=0.2)
    assert given["scale"]["factor"] == pytest.approx(2.0) and given["quality"]["status"] == "ok", given["quality"]
    assert abs(_mre_mm(given, truth, fx) - native) < 0.3

    unknown = isbi19.predict(half, name="151 half.jpg")
    scale = unknown["scale"]
    assert scale["source"] == "anatomy" and scale["image_mm_per_pixel"] == pytest.approx(0.2, rel=0.1)
    assert unknown["quality"]["status"] == "ok" and unknown["mm_per_pixel"] is None
    assert abs(_mre_mm(unknown, truth, fx) - native) < 0.3

    isbi19.scale_mode = "fixed"
    try:
        as_lies = isbi19.predict(half, name="151 half.jpg", spacing_mm=0.2)
    finally:
        isbi19.scale_mode = "auto"
    assert _mre_mm(as_lies, truth, fx) > native + 1.0
    assert as_lies["quality"]["status"] != "ok" and as_lies["quality"]["signals"]["scale_error"] > 1.8
