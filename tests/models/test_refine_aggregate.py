"""The refine views' answers become one by their mean, or by their geometric median (``test_cfg.aggregate``)."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.models.refinement import IDENTITY_VIEW, RefineSpec, RefineViewError, refine_landmarks

PATCH, SCALE = 32, 2.0


def split_views(x):
    """Three views of each landmark: two find the patch centre, the third a structure 10 patch px to the right."""
    m = len(x)
    xy = np.full((m, 2), (PATCH - 1) / 2)
    xy[2 * m // 3:, 0] += 10.0  # view-major: the last third of the batch is the third view
    return xy, np.ones(m)


@pytest.mark.parametrize("aggregate, expected_dx", [("mean", 10.0 * SCALE / 3), ("median", 0.0)])
def test_views_that_split_are_averaged_or_voted(aggregate, expected_dx):
    spec = RefineSpec(patch_size=PATCH, patch_scale=SCALE, views=(IDENTITY_VIEW,) * 3, aggregate=aggregate)
    coarse = np.array([[40.0, 50.0], [60.0, 70.0]])
    img = np.full((120, 120), 30, np.uint8)
    [(xy, _, moved, spread)] = refine_landmarks([img], [np.eye(3)], [coarse], [np.zeros(2)], split_views, spec)
    np.testing.assert_allclose(xy[:, 0] - coarse[:, 0], expected_dx, atol=0.05)
    np.testing.assert_allclose(xy[:, 1], coarse[:, 1], atol=1e-6)
    assert moved.all() and (spread > 0).all()  # the spread says the views split, whichever way they are joined


def test_the_aggregate_travels_in_the_metadata_and_a_bad_one_is_named():
    from zoo.errors import ModelConfigError
    from zoo.models.two_stage import TwoStageDetector

    spec = RefineSpec(patch_size=PATCH, patch_scale=SCALE, aggregate="median")
    assert RefineSpec.from_dict(spec.to_dict()).aggregate == "median"
    assert "aggregate" not in RefineSpec(patch_size=PATCH, patch_scale=SCALE).to_dict()  # as older files hold it
    with pytest.raises(RefineViewError, match="aggregate"):
        RefineSpec(patch_size=PATCH, patch_scale=SCALE, aggregate="mode")
    with pytest.raises(ModelConfigError, match="aggregate"):
        TwoStageDetector(**{**TwoStageDetector._smoke_cfgs()[0], "test_cfg": dict(aggregate="mode")})
