"""Losses: ``forward(pred, targets) -> scalar`` (already times ``loss_weight``)."""

from . import adaptive_wing, combined, coord, focal, heatmap_mse  # noqa: F401
