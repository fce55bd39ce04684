"""The shape model: Procrustes-invariant, about 1 on the anatomy it learnt, far off on mirrored or scattered
landmarks, and refused when stored malformed."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.quality.shape import ShapeModel, ShapeModelError, align

BASE = np.array([[0, 0], [40, -5], [70, 10], [85, 45], [60, 80], [30, 95], [5, 70], [-10, 35]], float)
SYMBOLS = [f"L{i}" for i in range(len(BASE))]
MODES = np.random.default_rng(99).normal(size=(3, *BASE.shape))  # how this kind of anatomy varies


def anatomies(n, seed=0, noise=2.0):
    rng = np.random.default_rng(seed)
    modes = MODES
    return np.stack([BASE + np.tensordot(rng.normal(size=3), modes, axes=1) * noise
                     + rng.normal(0, 0.3, BASE.shape) for _ in range(n)])


def similar(shape, angle_deg, scale, shift):
    t = np.deg2rad(angle_deg)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return shape @ r.T * scale + shift


@pytest.fixture(scope="module")
def model():
    return ShapeModel.fit(anatomies(200), SYMBOLS)


def test_new_anatomies_of_the_same_kind_score_about_one(model):
    d = [model.distance(s) for s in anatomies(100, seed=1)]
    assert 0.6 < np.median(d) < 1.5 and max(d) < 3


def test_distance_ignores_position_size_and_rotation(model):
    shape = anatomies(1, seed=2)[0]
    moved = similar(shape, 37.0, 3.5, (500.0, -20.0))
    assert model.distance(moved) == pytest.approx(model.distance(shape), rel=1e-6)


def test_mirrored_and_scattered_landmarks_are_far_off(model):
    typical = np.median([model.distance(s) for s in anatomies(50, seed=3)])
    mirrored = anatomies(1, seed=4)[0] * [-1, 1]
    scattered = np.random.default_rng(5).uniform(0, 100, BASE.shape)
    assert model.distance(mirrored) > 5 * typical
    assert model.distance(scattered) > 5 * typical


def test_a_landmark_moved_far_is_named(model):
    shape = anatomies(1, seed=6)[0]
    shape[3] += (60.0, 0.0)
    assert model.off_shape(shape)[0] == "L3"
    assert model.off_shape(anatomies(1, seed=7)[0]) == []


def test_alignment_never_reflects():
    shape = BASE - BASE.mean(axis=0)
    aligned = align(shape * [-1, 1], shape)
    assert np.linalg.norm(aligned - shape) > 1.0  # a reflection would have matched exactly


def test_round_trip_and_malformed_blocks(model):
    again = ShapeModel.from_dict(model.to_dict())
    shape = anatomies(1, seed=8)[0]
    assert again.distance(shape) == pytest.approx(model.distance(shape), rel=1e-6)
    broken = {**model.to_dict(), "variances": [-1.0] * len(model.variances)}
    with pytest.raises(ShapeModelError, match="non-positive"):
        ShapeModel.from_dict(broken)
    with pytest.raises(ShapeModelError, match="malformed"):
        ShapeModel.from_dict({"symbols": SYMBOLS})


def test_too_few_or_wrongly_sized_shapes_are_refused():
    with pytest.raises(ShapeModelError, match="at least"):
        ShapeModel.fit(anatomies(5), SYMBOLS)
    with pytest.raises(ShapeModelError, match="must be"):
        ShapeModel.fit(anatomies(20)[:, :5], SYMBOLS)
