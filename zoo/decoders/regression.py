"""Decoding a regression head: its normalised coordinates back to input pixels."""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import DECODERS

from ..heads.convention import normalized_to_input


@DECODERS.register_module()
class RegressionDecoder(nn.Module):
    """Normalised (N, K, 2) coordinates -> input px; confidence 1, or sigmoid of a 3rd channel if given."""

    input_kind = "coords"  # what it consumes: a head's heatmaps or coordinates

    def forward(self, coords: torch.Tensor, input_hw):
        xy = normalized_to_input(coords[..., :2], input_hw)
        if coords.shape[-1] > 2:
            return xy, torch.sigmoid(coords[..., 2])
        return xy, torch.ones_like(coords[..., 0])
