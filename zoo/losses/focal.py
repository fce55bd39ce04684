"""Penalty-reduced focal loss on heatmaps (CornerNet / CenterNet).

MSE spends most of its gradient on the huge background; the focal form concentrates on the peak and
on confident mistakes, and reduces the penalty near the landmark by ``(1 - target)^beta`` so the
pixels next to the peak are not punished as hard as far-away ones. With sub-pixel Gaussian targets
no pixel is exactly 1, so each map's positive is its hottest target pixel.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import LOSSES

from ._weights import as_buffer, keypoint_weights


@LOSSES.register_module()
class FocalHeatmapLoss(nn.Module):
    """CenterNet's penalty-reduced focal loss, normalised by the number of weighted peaks.

    Args:
        alpha, beta: focusing and penalty-reduction exponents (CenterNet: 2 and 4).
        use_sigmoid: treat the head output as logits. The zoo's heatmap head outputs maps on the target's
            scale, so by default the prediction is clamped into ``(eps, 1 - eps)`` instead.
        landmark_weights, loss_weight: as in ``HeatmapMSELoss``.
    """

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(
        self,
        alpha: float = 2.0,
        beta: float = 4.0,
        use_sigmoid: bool = False,
        eps: float = 1e-4,
        landmark_weights=None,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.alpha, self.beta, self.use_sigmoid, self.eps = float(alpha), float(beta), use_sigmoid, float(eps)
        as_buffer(self, landmark_weights)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, targets: dict) -> torch.Tensor:
        target = targets["heatmaps"].to(pred)
        weight = keypoint_weights(targets, pred, self.landmark_weights)[..., None, None]
        prob = torch.sigmoid(pred) if self.use_sigmoid else pred
        prob = prob.clamp(self.eps, 1 - self.eps)
        peak = target.amax(dim=(-2, -1), keepdim=True)
        pos = ((target >= peak) & (peak > 0)).to(pred)
        pos_loss = -torch.log(prob) * (1 - prob) ** self.alpha * pos
        neg_loss = -torch.log(1 - prob) * prob**self.alpha * (1 - target) ** self.beta * (1 - pos)
        num_pos = (pos * weight).sum().clamp_min(1.0)
        return self.loss_weight * ((pos_loss + neg_loss) * weight).sum() / num_pos
