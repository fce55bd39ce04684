"""``zoo.load`` and its result objects: the same landmarks as the CLI, and no silent guess about arrays."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def model(tiny_weights):
    import zoo

    return zoo.load(tiny_weights)


def test_predict_returns_objects_matching_the_cli_entry(model, tiny_weights, xray, tmp_path):
    import cv2

    from zoo.commands.predict import run_predict

    image = tmp_path / "ceph one.png"
    cv2.imwrite(str(image), xray)
    result = model.predict(image, spacing_mm=0.1)
    cli = run_predict(tiny_weights, [image], spacing_mm=0.1)["predictions"][0]
    assert result.to_dict()["landmarks"] == cli["landmarks"]
    assert list(result.landmarks) == model.landmark_symbols and len(result.landmarks) == 19
    s = result.landmarks["S"]
    assert (s.x, s.y) == (cli["landmarks"]["S"]["x"], cli["landmarks"]["S"]["y"])
    assert s.x_mm == pytest.approx(s.x * 0.1) and result.mm_per_pixel == 0.1
    assert result.coords().shape == (19, 2)


def test_arrays_bytes_and_lists(model, xray):
    from_array = model.predict(xray)
    ok, buf = __import__("cv2").imencode(".png", xray)
    from_bytes = model.predict(buf.tobytes())
    assert np.allclose(from_array.coords(), from_bytes.coords())
    floats = model.predict([xray.astype(np.float32) / 255.0, xray.astype(np.float64)])
    for r in floats:  # 0..1 and 0..255 floats are the same image as the uint8 one
        assert np.allclose(r.coords(), from_array.coords(), atol=1e-3)


@pytest.mark.parametrize("bad, match", [
    (np.full((32, 32), -3.0), "0..1 or 0..255"),
    (np.full((32, 32), 300.0), "0..1 or 0..255"),
    (np.full((32, 32), np.nan), "NaN"),
    (np.zeros((32, 32), bool), "dtype bool"),
    (np.full((32, 32), 4000, np.int32), "uint16"),
    (np.zeros((2, 32, 32, 3), np.uint8), "shape"),
])
def test_ambiguous_arrays_are_refused(model, bad, match):
    from zoo.api import ImageInputError

    with pytest.raises(ImageInputError, match=match):
        model.predict(bad)


def test_rgb_order_is_honoured(model, xray):
    import cv2

    colour = cv2.cvtColor(xray, cv2.COLOR_GRAY2BGR)
    colour[:, :, 0] //= 2  # blue halved: the two orders are different images
    bgr = model.predict(colour)
    rgb = model.predict(np.ascontiguousarray(colour[:, :, ::-1]), channel_order="rgb")
    assert np.allclose(bgr.coords(), rgb.coords())


def test_plot_draws_and_writes(model, xray, tmp_path):
    result = model.predict(xray)
    canvas = result.plot(tmp_path / "drawn.png")
    assert canvas.shape == (*xray.shape, 3) and (tmp_path / "drawn.png").stat().st_size > 0
    assert not np.array_equal(canvas[:, :, 0], xray)


def test_cuda_asked_for_without_cuda_is_a_clear_error(tiny_weights):
    import torch

    import zoo
    from zoo.registry import ZooError

    if torch.cuda.is_available():
        assert zoo.load(tiny_weights, device="cuda").predict(np.zeros((64, 64), np.uint8))
    else:
        with pytest.raises(ZooError, match="no CUDA"):
            zoo.load(tiny_weights, device="cuda")


def test_orientation_finding_is_reported(tiny_weights, xray, tmp_path, capsys):
    import cv2

    import zoo
    from zoo.cli import main

    found = zoo.load(tiny_weights).predict(xray).orientation
    assert found["name"] and len(found["confidence"]) == 8 and isinstance(found["margin"], float)
    assert zoo.load(tiny_weights, orientation="fixed").predict(xray).orientation is None
    image = tmp_path / "x.png"
    cv2.imwrite(str(image), xray)
    main(["predict", str(tiny_weights), str(image), "--orientation", "fixed", "--out", str(tmp_path / "p.json")])
    import json

    entry = json.loads((tmp_path / "p.json").read_text())["predictions"][0]
    assert "orientation" not in entry
