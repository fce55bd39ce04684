"""The hottest heatmap pixel: exact to within half a heatmap pixel, and the start of every refinement."""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import DECODERS

from ..heads.convention import heatmap_to_input


def heatmap_argmax(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, K, h, w) -> integer peak positions (N, K, 2) as float x/y heatmap px, and peak values (N, K)."""
    n, k, h, w = heatmaps.shape
    values, index = heatmaps.reshape(n, k, h * w).max(dim=-1)
    x = torch.remainder(index, w)
    y = torch.div(index, w, rounding_mode="floor")
    return torch.stack((x, y), dim=-1).to(heatmaps.dtype), values


@DECODERS.register_module()
class ArgmaxDecoder(nn.Module):
    """Plain argmax of each heatmap; confidence is the peak value clipped to [0, 1].

    Its error floor is the quantisation of a uniform sub-pixel offset: 0.383 heatmap px mean radial
    error (``benchmarks/decoders.py`` measures it).
    """

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def forward(self, heatmaps: torch.Tensor, input_hw):
        peaks, values = heatmap_argmax(heatmaps)
        return heatmap_to_input(peaks, input_hw, heatmaps.shape[-2:]), values.clamp(0, 1)
