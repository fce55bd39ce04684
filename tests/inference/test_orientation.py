"""Orientation finding: the eight pixel rearrangements are exact and invertible, and the predictor reads a
mirrored or turned image in the model's orientation, reporting what it found and mapping landmarks back."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.inference.orientation import ALL, AS_TRAINED

META = {"preprocess": {"input_size": [64, 64], "channels": 1, "pad_value": 0.0, "mean": [0.0], "std": [1.0]},
        "landmark_symbols": ["spot"], "landmark_set": "test", "model_type": "fake"}


@pytest.mark.parametrize("orientation", ALL, ids=lambda o: o.name)
def test_rearrangement_and_its_matrix_agree_pixel_for_pixel(orientation):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (5, 7), dtype=np.uint8)
    out = orientation.apply(img)
    ys, xs = np.mgrid[0:5, 0:7]
    mapped = orientation.matrix(img.shape) @ np.stack([xs.ravel(), ys.ravel(), np.ones(35)])
    u, v = np.rint(mapped[:2]).astype(int)
    assert np.array_equal(out[v, u], img.ravel())
    point = np.array([[2.25, 3.5]])
    assert np.allclose(orientation.matrix(img.shape) @ [*orientation.to_original(point, img.shape)[0], 1],
                       [2.25, 3.5, 1])


@pytest.mark.parametrize("orientation", ALL, ids=lambda o: o.name)
def test_name_says_how_the_image_lies(orientation):
    canonical = np.arange(12).reshape(3, 4)
    lying = np.rot90(canonical[:, ::-1] if orientation.mirrored else canonical, orientation.image_turned_deg // 90)
    assert np.array_equal(orientation.apply(lying), canonical)
    assert ("mirrored" in orientation.name) == orientation.mirrored


class FakeBackend:
    """Finds the brightest pixel; confident only where the spot sits in the training orientation's input."""

    name = "fake"

    def __init__(self, target_xy):
        self.target = np.asarray(target_xy, float)

    def __call__(self, batch):
        x = batch[0, 0]
        y, xx = np.unravel_index(np.argmax(x), x.shape)
        score = 1.0 / (1.0 + np.hypot(xx - self.target[0], y - self.target[1]))
        return np.array([[[xx, y]]], np.float32), np.array([[score]], np.float32)


@pytest.fixture()
def canonical():
    img = np.zeros((48, 80), np.uint8)  # not square: a turn changes the letterbox too
    img[6, 20] = 255
    return img


def predictor_for(canonical, orientation="auto"):
    from zoo.inference import Predictor

    probe = Predictor(None, META, orientation="fixed")
    batch, _ = probe.preprocess(probe.load(canonical))
    y, x = np.unravel_index(np.argmax(batch[0, 0]), batch.shape[2:])
    return Predictor(FakeBackend((x, y)), META, orientation=orientation)


@pytest.mark.parametrize("orientation", ALL, ids=lambda o: o.name)
def test_predictor_reads_any_orientation_and_maps_back(canonical, orientation):
    lying = np.ascontiguousarray(
        np.rot90(canonical[:, ::-1] if orientation.mirrored else canonical, orientation.image_turned_deg // 90))
    spot_y, spot_x = np.unravel_index(np.argmax(lying), lying.shape)
    entry = predictor_for(canonical).predict(lying)
    assert entry["orientation"]["name"] == orientation.name
    lm = entry["landmarks"]["spot"]
    assert abs(lm["x"] - spot_x) < 1.5 and abs(lm["y"] - spot_y) < 1.5
    assert any("mirrored" in w or "turned" in w for w in entry["warnings"]) == (orientation != AS_TRAINED)


def test_fixed_orientation_trusts_the_image(canonical):
    mirrored = np.ascontiguousarray(canonical[:, ::-1])
    entry = predictor_for(canonical, "fixed").predict(mirrored)
    assert "orientation" not in entry and entry["warnings"] == []


def test_unknown_mode_is_refused():
    from zoo.inference import Predictor
    from zoo.registry import ZooError

    with pytest.raises(ZooError, match="auto, fixed"):
        Predictor(None, META, orientation="sideways")


@pytest.mark.parametrize("orientation", ALL, ids=lambda o: o.name)
def test_a_batch_rearranges_like_each_of_its_images(orientation):
    batch = np.random.default_rng(1).random((2, 3, 8, 8)).astype(np.float32)
    out = orientation.apply(batch, axes=(2, 3))
    for n in range(2):
        for c in range(3):
            assert np.array_equal(out[n, c], orientation.apply(batch[n, c]))
