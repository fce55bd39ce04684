"""Fixtures of the serve tests: a tiny real checkpoint, real image files, a real server on loopback."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from serve_helpers import build_tiny_checkpoint, running_server, synthetic_cephalogram


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("model with space") / "tiny ceph.pth")


@pytest.fixture(scope="session")
def predictor(tiny_model):
    from zoo.inference import Predictor

    return Predictor.from_path(tiny_model)


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> dict[str, Path]:
    """One file per accepted format, each with its own size and aspect ratio."""
    import cv2

    folder = tmp_path_factory.mktemp("images")
    out = {}
    gray = synthetic_cephalogram(260, 200, seed=1)
    out["png"] = folder / "ceph 8bit.png"
    cv2.imwrite(str(out["png"]), gray)
    colour = cv2.cvtColor(synthetic_cephalogram(180, 240, seed=2), cv2.COLOR_GRAY2BGR)
    colour[:, :, 2] = np.clip(colour[:, :, 2].astype(int) + 25, 0, 255)
    out["jpeg"] = folder / "ceph.jpg"
    cv2.imwrite(str(out["jpeg"]), colour, [cv2.IMWRITE_JPEG_QUALITY, 90])
    out["bmp"] = folder / "ceph.bmp"
    cv2.imwrite(str(out["bmp"]), synthetic_cephalogram(220, 300, seed=3))
    sixteen = (synthetic_cephalogram(250, 210, seed=4).astype(np.uint16) * 13 + 500)  # a 12-bit detector's range
    out["png16"] = folder / "ceph 16bit.png"
    cv2.imwrite(str(out["png16"]), sixteen)
    assert cv2.imread(str(out["png16"]), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    return out


@pytest.fixture(scope="session")
def server(predictor) -> str:
    """The default app on the tiny model, shared by the read-only tests."""
    from zoo.serve import create_app

    with running_server(create_app(predictor)) as url:
        yield url


@pytest.fixture(scope="session")
def onnx_model(predictor, tmp_path_factory):
    """The tiny checkpoint exported as ``zoo export`` writes it: the graph plus the zoo metadata."""
    from zoo.exporters import export_onnx
    from zoo.modelfile.exported import export_meta, stamp_onnx

    out = tmp_path_factory.mktemp("onnx") / "tiny ceph.onnx"
    w, h = predictor.input_size
    export_onnx(predictor.backend.model, np.zeros((1, 3, h, w), np.float32), out)
    stamp_onnx(out, export_meta(predictor.meta, "onnx"))
    return out
