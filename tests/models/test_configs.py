"""Every config builds its model, and a forward pass returns K coordinates in input pixels: the recipes in
``configs/`` and the research projects' configs in ``projects/*/configs/``, which must keep loading after a move.

Only the ``model`` part of each config is built, so these tests need no dataset on disk.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zoo.registry import MODELS, load_plugins

_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for folder in [_ROOT / "configs", *_ROOT.glob("projects/*/configs")]
                 for p in folder.rglob("*.py") if "_base_" not in p.parts)
SIZE = 128


def test_there_are_configs():
    assert len(CONFIGS) >= 8


@pytest.mark.parametrize("path", CONFIGS, ids=[p.relative_to(_ROOT).with_suffix("").as_posix() for p in CONFIGS])
def test_config_builds_and_predicts_input_pixels(path):
    from mmengine.config import Config

    from zoo.data.landmark_sets import get_landmark_set

    load_plugins()
    cfg = Config.fromfile(str(path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    k = len(get_landmark_set(model.landmark_set))
    assert model.num_keypoints == k
    with torch.no_grad():
        coords, scores = model(torch.randn(2, 3, SIZE, SIZE), mode="tensor")
    assert coords.shape == (2, k, 2) and scores.shape == (2, k)
    assert torch.isfinite(coords).all() and ((scores >= 0) & (scores <= 1)).all()
    # input px: inside the image, give or take one heatmap cell of sub-pixel refinement
    detectors = list(model.members) if hasattr(model, "members") else [model]  # an ensemble: each member
    heads = [d.global_stage.head if hasattr(d, "global_stage") else d.head for d in detectors]
    margin = max(getattr(head, "output_stride", 0) for head in heads) + 0.5
    assert ((coords >= -margin) & (coords <= SIZE - 1 + margin)).all()
    for detector in detectors:
        if hasattr(detector, "refine_tensor"):
            p = detector.patch_size
            with torch.no_grad():
                xy, conf = detector.refine_tensor(torch.randn(k, 3, p, p))
            assert xy.shape == (k, 2) and conf.shape == (k,) and torch.isfinite(xy).all()
