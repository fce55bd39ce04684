"""Adaptive wing loss on heatmaps (Wang et al., ICCV 2019).

Near the peak (target ~1) it behaves like wing loss, strongly penalising small errors so peaks get
sharp; on the background (target ~0) its exponent ``alpha - y`` tends to 2 and it is MSE-like, so
background noise is not over-punished. Above ``theta`` it is linear.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import LOSSES

from ._weights import as_buffer, keypoint_weights


@LOSSES.register_module()
class AdaptiveWingLoss(nn.Module):
    """Adaptive wing loss (alpha 2.1, omega 14, epsilon 1, theta 0.5), pixel mean per map, weighted."""

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(
        self,
        alpha: float = 2.1,
        omega: float = 14.0,
        epsilon: float = 1.0,
        theta: float = 0.5,
        landmark_weights=None,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.alpha, self.omega, self.epsilon, self.theta = (
            float(alpha),
            float(omega),
            float(epsilon),
            float(theta),
        )
        as_buffer(self, landmark_weights)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, targets: dict) -> torch.Tensor:
        y = targets["heatmaps"].to(pred)
        delta = (y - pred).abs()
        power = self.alpha - y
        ratio = self.theta / self.epsilon
        a = self.omega / (1 + ratio**power) * power * ratio ** (power - 1) / self.epsilon
        c = self.theta * a - self.omega * torch.log1p(ratio**power)
        small = self.omega * torch.log1p((delta / self.epsilon).clamp_min(1e-12) ** power)
        loss = torch.where(delta < self.theta, small, a * delta - c)
        weight = keypoint_weights(targets, pred, self.landmark_weights)
        return self.loss_weight * (loss.mean(dim=(-2, -1)) * weight).mean()
