"""Per-landmark uncertainty: fitted on errors whose scale follows a signal, it learns the signal's weight and its
radius holds the truth as often as it claims on new data."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.quality.uncertainty import FEATURES, UncertaintyError, UncertaintyModel, features


def synthetic(n_images, seed, k=6):
    """Errors drawn from an isotropic Gaussian whose scale grows with the views' spread."""
    rng = np.random.default_rng(seed)
    spread = rng.uniform(0.5, 15.0, (n_images, k))
    scores = rng.uniform(0.6, 1.0, (n_images, k))
    feats = np.stack([features(scores[i], spread=spread[i]) for i in range(n_images)])
    sigma = np.exp(0.5 + 0.1 * np.arange(k))[None] * (1 + spread) ** 0.6
    errors = np.linalg.norm(rng.normal(size=(n_images, k, 2)) * sigma[..., None], axis=2)
    return feats, errors


@pytest.fixture(scope="module")
def fitted():
    return UncertaintyModel.fit(*synthetic(150, seed=0))


def test_the_spread_earns_its_weight(fitted):
    weights = dict(zip(FEATURES, fitted.weights))
    assert weights["log_spread"] == pytest.approx(0.6, abs=0.1)
    assert weights["unrefined"] == 0.0 and weights["log_shift"] == 0.0  # signals that never varied


def test_claimed_coverage_holds_on_new_data(fitted):
    feats, errors = synthetic(300, seed=1)
    radii = np.stack([fitted.radius(f) for f in feats])
    assert np.mean(errors <= radii) == pytest.approx(0.9, abs=0.03)
    wider = np.stack([fitted.radius(f, coverage=0.95) for f in feats])
    assert np.mean(errors <= wider) == pytest.approx(0.95, abs=0.03)


def test_unlabelled_landmarks_are_left_out():
    feats, errors = synthetic(40, seed=2)
    errors[:5, 0] = np.nan
    model = UncertaintyModel.fit(feats, errors)
    assert model.num_points == errors.size - 5


def test_round_trip_and_refusals(fitted):
    again = UncertaintyModel.from_dict(fitted.to_dict(), num_landmarks=6)
    feats = synthetic(1, seed=3)[0][0]
    assert np.allclose(again.radius(feats), fitted.radius(feats))
    with pytest.raises(UncertaintyError, match="does not fit 7 landmarks"):
        UncertaintyModel.from_dict(fitted.to_dict(), num_landmarks=7)
    with pytest.raises(UncertaintyError, match="at least 3"):
        UncertaintyModel.fit(*synthetic(2, seed=4))


def test_a_landmark_no_view_agreed_on_is_marked_unrefined():
    f = features([0.9, 0.9], coarse=np.zeros((2, 2)), coords=np.array([[3.0, 4.0], [0.0, 0.0]]),
                 spread=np.array([2.0, np.nan]))
    assert f[:, FEATURES.index("unrefined")].tolist() == [0.0, 1.0]
    assert f[0, FEATURES.index("log_shift")] == pytest.approx(np.log1p(5.0))
