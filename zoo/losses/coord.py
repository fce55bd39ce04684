"""Losses on coordinates, in whatever units the head's ``encode`` gives ``coords``.

The regression head's units are normalised (0..1 across the image); the heatmap head's are heatmap
pixels. Wing's ``omega``/``epsilon`` are in those units too, so a config must scale them to the head.
Each loss averages over visible keypoint coordinates (weighted by ``weight`` x ``landmark_weights``).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo.registry import LOSSES

from ._weights import as_buffer, keypoint_weights


class _CoordLoss(nn.Module):
    input_kind = "coords"  # what it consumes: a head's heatmaps or coordinates

    def __init__(self, landmark_weights=None, loss_weight: float = 1.0):
        super().__init__()
        as_buffer(self, landmark_weights)
        self.loss_weight = float(loss_weight)

    def elementwise(self, diff: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, pred: torch.Tensor, targets: dict) -> torch.Tensor:
        weight = keypoint_weights(targets, pred, self.landmark_weights)
        diff = pred[..., :2] - targets["coords"].to(pred)
        per_kpt = self.elementwise(diff).sum(-1)
        return self.loss_weight * (per_kpt * weight).sum() / (2 * weight.sum().clamp_min(1e-6))


@LOSSES.register_module()
class L1CoordLoss(_CoordLoss):
    """Mean absolute coordinate error over visible keypoints."""

    def elementwise(self, diff):
        return diff.abs()


@LOSSES.register_module()
class SmoothL1CoordLoss(_CoordLoss):
    """Smooth L1 (Huber with slope 1) coordinate error; quadratic below `beta` (in coordinate units)."""

    def __init__(self, beta: float = 1.0, landmark_weights=None, loss_weight: float = 1.0):
        super().__init__(landmark_weights, loss_weight)
        self.beta = float(beta)

    def elementwise(self, diff):
        return F.smooth_l1_loss(diff, torch.zeros_like(diff), reduction="none", beta=self.beta)


@LOSSES.register_module()
class WingLoss(_CoordLoss):
    """Wing loss (Feng et al., CVPR 2018): log-shaped below `omega` to weigh small errors, L1 above."""

    def __init__(
        self, omega: float = 10.0, epsilon: float = 2.0, landmark_weights=None, loss_weight: float = 1.0
    ):
        super().__init__(landmark_weights, loss_weight)
        self.omega, self.epsilon = float(omega), float(epsilon)
        self.c = self.omega - self.omega * math.log1p(self.omega / self.epsilon)

    def elementwise(self, diff):
        x = diff.abs()
        return torch.where(x < self.omega, self.omega * torch.log1p(x / self.epsilon), x - self.c)
