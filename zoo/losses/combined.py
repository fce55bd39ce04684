"""The 31-landmark detector's loss: heatmap loss + coordinate loss through soft-argmax (+ focal term).

A heatmap loss alone does not care where the peak is once the map looks roughly right, while the
metric only cares about the peak's position; a coordinate loss on the differentiable soft-argmax
closes that gap (the ``ceph31`` detector uses ``coord_weight=5``). Coordinates are compared *normalised*
by the heatmap size, so ``coord_weight`` means the same at heatmap 192, 384 or 512.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import LOSSES

from ..decoders.soft_argmax import soft_argmax


@LOSSES.register_module()
class CombinedHeatmapCoordLoss(nn.Module):
    """heatmap_loss + coord_weight x coord_loss(soft-argmax, normalised) + focal_weight x focal loss.

    Args:
        heatmap_loss: config of the heatmap loss (default ``HeatmapMSELoss``).
        coord_loss: config of the coordinate loss (default ``L1CoordLoss``), applied to
            soft-argmax positions and targets divided by the heatmap width/height.
        coord_weight: weight of the coordinate term.
        focal_weight: weight of a ``FocalHeatmapLoss`` term (0 leaves it out).
        soft_argmax_beta: softmax temperature of the soft-argmax (see ``zoo.decoders.soft_argmax``).
        loss_weight: multiplies the total.
    """

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(
        self,
        heatmap_loss: dict | None = None,
        coord_loss: dict | None = None,
        coord_weight: float = 5.0,
        focal_weight: float = 0.0,
        soft_argmax_beta: float = 20.0,
        focal_loss: dict | None = None,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.heatmap_loss = LOSSES.build(heatmap_loss or dict(type="HeatmapMSELoss"))
        self.coord_loss = LOSSES.build(coord_loss or dict(type="L1CoordLoss"))
        self.focal_loss = LOSSES.build(focal_loss or dict(type="FocalHeatmapLoss")) if focal_weight else None
        self.coord_weight, self.focal_weight = float(coord_weight), float(focal_weight)
        self.soft_argmax_beta, self.loss_weight = float(soft_argmax_beta), float(loss_weight)

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [{}, dict(focal_weight=0.5, coord_loss=dict(type="WingLoss", omega=0.05, epsilon=0.01))]

    def components(self, pred: torch.Tensor, targets: dict) -> dict[str, torch.Tensor]:
        """Each weighted term by name (``heatmap``, ``coord``, ``focal``); their sum is the loss."""
        h, w = pred.shape[-2:]
        scale = torch.tensor([w, h], device=pred.device, dtype=pred.dtype)
        coords = soft_argmax(pred, self.soft_argmax_beta) / scale
        norm_targets = dict(targets, coords=targets["coords"].to(pred) / scale)
        parts = dict(
            heatmap=self.heatmap_loss(pred, targets),
            coord=self.coord_weight * self.coord_loss(coords, norm_targets),
        )
        if self.focal_loss is not None:
            parts["focal"] = self.focal_weight * self.focal_loss(pred, targets)
        return {k: self.loss_weight * v for k, v in parts.items()}

    def forward(self, pred: torch.Tensor, targets: dict) -> torch.Tensor:
        return sum(self.components(pred, targets).values())
