"""Mean squared error between predicted and target heatmaps: the standard heatmap loss."""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import LOSSES

from ._weights import as_buffer, keypoint_weights


@LOSSES.register_module()
class HeatmapMSELoss(nn.Module):
    """Pixel-mean squared error per heatmap, weighted per keypoint (visibility x `landmark_weights`).

    Averaged over all N x K maps (weight-0 maps count as zeros), as MMPose's keypoint MSE does, so
    the scale does not jump with the number of visible landmarks in a batch.

    Args:
        landmark_weights: optional K weights, e.g. to stress landmarks that are hard to place.
        loss_weight: multiplies the result.
    """

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(self, landmark_weights=None, loss_weight: float = 1.0):
        super().__init__()
        as_buffer(self, landmark_weights)
        self.loss_weight = float(loss_weight)

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [{}, dict(landmark_weights=[1.0, 2.0, 0.5])]  # the tests use K = 3

    def forward(self, pred: torch.Tensor, targets: dict) -> torch.Tensor:
        weight = keypoint_weights(targets, pred, self.landmark_weights)
        per_map = ((pred - targets["heatmaps"].to(pred)) ** 2).mean(dim=(-2, -1))
        return self.loss_weight * (per_map * weight).mean()
