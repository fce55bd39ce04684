"""The shape model conditioned on some landmarks: where it puts the others, how surprised it is, which are out."""
from __future__ import annotations

import numpy as np
import pytest
from test_shape_model import SYMBOLS, anatomies, similar

from zoo.quality.shape import ShapeModel
from zoo.quality.shape_conditional import conditional, leave_one_out, outliers


@pytest.fixture(scope="module")
def model():
    return ShapeModel.fit(anatomies(200), SYMBOLS)


def test_a_hidden_landmark_is_placed_where_the_anatomy_has_it(model):
    """Predicted from the others within the anatomy's own noise, far better than the mean shape's place for it."""
    errors, naive = [], []
    for shape in anatomies(40, seed=11):
        known = np.ones(len(shape), bool)
        known[3] = False
        estimate = conditional(model, shape, known).estimate
        errors.append(np.hypot(*(estimate[3] - shape[3])))
        mean_fit = conditional(model, anatomies(1, seed=0, noise=0.0)[0], np.ones(len(shape), bool)).estimate
        naive.append(np.hypot(*(mean_fit[3] - shape[3])))
    assert np.median(errors) < 1.5  # the anatomies' per-landmark noise is 0.3 per axis on top of 3 modes
    assert np.median(errors) < 0.5 * np.median(naive)


def test_surprise_is_about_one_on_typical_anatomies(model):
    surprise = np.concatenate([leave_one_out(model, s)[0] for s in anatomies(30, seed=12)])
    # a 2-D Mahalanobis distance: chi with 2 degrees of freedom, median 1.18, 95th percentile 2.45
    assert 0.9 < np.median(surprise) < 1.5 and np.quantile(surprise, 0.95) < 3.2


def test_surprise_and_estimate_follow_position_size_and_rotation(model):
    shape = anatomies(1, seed=13)[0]
    surprise, estimate = leave_one_out(model, shape)
    moved = similar(shape, 25.0, 2.5, (300.0, -40.0))
    moved_surprise, moved_estimate = leave_one_out(model, moved)
    np.testing.assert_allclose(moved_surprise, surprise, rtol=1e-5)
    np.testing.assert_allclose(moved_estimate, similar(estimate, 25.0, 2.5, (300.0, -40.0)), atol=1e-6)


def test_misplaced_landmarks_are_found_and_placed_back(model):
    shape = anatomies(1, seed=14)[0]
    wrong = shape.copy()
    wrong[2] += (25.0, -10.0)
    wrong[6] += (-20.0, 15.0)
    out = outliers(model, wrong, threshold=5.0)
    assert sorted(out) == [2, 6]
    known = np.ones(len(shape), bool)
    known[out] = False
    estimate = conditional(model, wrong, known).estimate
    assert np.hypot(*(estimate[out] - shape[out]).T).max() < 3.0
    assert outliers(model, shape, threshold=5.0) == []


def test_unknown_rows_may_hold_nan_and_too_few_known_is_refused(model):
    shape = anatomies(1, seed=15)[0]
    shape[1] = np.nan
    known = np.isfinite(shape).all(axis=1)
    assert np.isfinite(conditional(model, shape, known).estimate).all()
    with pytest.raises(ValueError, match="at least 3"):
        conditional(model, shape, np.arange(len(shape)) < 2)
