"""Soft-argmax: the expectation of a temperature softmax over the heatmap, differentiable end to end.

It is what lets the combined loss put a coordinate error on a heatmap network, and a decoder that
needs no argmax at all. With heatmaps on the target's scale (peak 1), ``beta`` is a trade-off: too
small and the background outweighs the peak (its pull is about ``h*w / (exp(beta) * 2*pi*sigma^2)``),
too large and the softmax becomes a hard argmax with its quantisation error. ``beta = 20`` places a
clean Gaussian to a small fraction of a pixel on small and large maps alike, while a smaller beta drifts
towards the centre of large maps (``benchmarks/decoders.py`` compares them).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import DECODERS

from ..heads.convention import heatmap_to_input


def soft_argmax(heatmaps: torch.Tensor, beta: float) -> torch.Tensor:
    """(N, K, h, w) -> (N, K, 2) expected x/y in heatmap px under softmax(beta * heatmap)."""
    n, k, h, w = heatmaps.shape
    prob = torch.softmax(beta * heatmaps.reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)
    xs = torch.arange(w, device=heatmaps.device, dtype=heatmaps.dtype)
    ys = torch.arange(h, device=heatmaps.device, dtype=heatmaps.dtype)
    return torch.stack(((prob.sum(-2) * xs).sum(-1), (prob.sum(-1) * ys).sum(-1)), dim=-1)


@DECODERS.register_module()
class SoftArgmaxDecoder(nn.Module):
    """Expected position under softmax(beta * heatmap); confidence is the peak value clipped to [0, 1]."""

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(self, beta: float = 20.0):
        super().__init__()
        self.beta = float(beta)

    def forward(self, heatmaps: torch.Tensor, input_hw):
        coords = soft_argmax(heatmaps, self.beta)
        conf = heatmaps.flatten(2).amax(-1).clamp(0, 1)
        return heatmap_to_input(coords, input_hw, heatmaps.shape[-2:]), conf
