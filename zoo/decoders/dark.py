"""Distribution-aware sub-pixel refinement (DARK, Zhang et al., CVPR 2020), in torch.

The log of a Gaussian is a quadratic, so one Newton step from the argmax on the log-heatmap lands
on the true centre: ``offset = -H^{-1} g`` with gradient ``g`` and Hessian ``H`` from central
differences. Real heatmaps are not exact Gaussians (multiple peaks, noise), so DARK first smooths
each map with a Gaussian ("modulation") and rescales it to keep its peak value. Everything is
convolutions, gathers and ``torch.where`` so the decoder exports inside an ONNX/TorchScript graph;
the 2x2 inverse is written out, and the step is dropped where the log-map is not locally concave.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo.registry import DECODERS

from ..heads.convention import heatmap_to_input
from .argmax import heatmap_argmax


def gaussian_kernel1d(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-x ** 2 / (2 * sigma ** 2))
    return k / k.sum()


def taylor_offsets(log_maps: torch.Tensor, peaks: torch.Tensor, max_offset: float) -> torch.Tensor:
    """Newton step on (N, K, h, w) log-heatmaps at integer (N, K, 2) peaks; borders replicate."""
    n, k, h, w = log_maps.shape
    padded = F.pad(log_maps.reshape(n * k, 1, h, w), (1, 1, 1, 1), mode="replicate").reshape(n, k, -1)
    pw = w + 2
    x = peaks[..., 0].long() + 1
    y = peaks[..., 1].long() + 1

    def at(dx: int, dy: int) -> torch.Tensor:
        return padded.gather(-1, ((y + dy) * pw + (x + dx)).unsqueeze(-1)).squeeze(-1)

    c = at(0, 0)
    gx = 0.5 * (at(1, 0) - at(-1, 0))
    gy = 0.5 * (at(0, 1) - at(0, -1))
    hxx = at(1, 0) - 2 * c + at(-1, 0)
    hyy = at(0, 1) - 2 * c + at(0, -1)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy * hxy
    concave = (det > 1e-12) & (hxx < 0)
    safe_det = torch.where(concave, det, torch.ones_like(det))
    dx = -(hyy * gx - hxy * gy) / safe_det
    dy = -(hxx * gy - hxy * gx) / safe_det
    offset = torch.stack((dx, dy), dim=-1).clamp(-max_offset, max_offset)
    return torch.where(concave.unsqueeze(-1), offset, torch.zeros_like(offset))


@DECODERS.register_module()
class DarkDecoder(nn.Module):
    """Argmax refined to sub-pixel by Gaussian modulation and a 2nd-order Taylor step (DARK).

    Args:
        blur_sigma: sigma (heatmap px) of the modulation blur; about the target sigma. 0 disables it
            (right for clean Gaussian maps, where the log is exactly quadratic already).
        max_offset: the step is clipped to this many heatmap px (a true peak lies within half a
            pixel of the argmax of a smooth map; 1 leaves room for noise).
        eps: floor before the log.
    """

    input_kind = "heatmap"  # what it consumes: a head's heatmaps or coordinates

    def __init__(self, blur_sigma: float = 2.0, max_offset: float = 1.0, eps: float = 1e-10):
        super().__init__()
        self.blur_sigma, self.max_offset, self.eps = float(blur_sigma), float(max_offset), float(eps)
        kernel = gaussian_kernel1d(blur_sigma) if blur_sigma > 0 else torch.ones(1)
        self.register_buffer("kernel", kernel, persistent=False)

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [{}, dict(blur_sigma=0)]

    def modulate(self, heatmaps: torch.Tensor) -> torch.Tensor:
        if self.blur_sigma <= 0:
            return heatmaps
        n, k, h, w = heatmaps.shape
        r = self.kernel.numel() // 2
        flat = heatmaps.reshape(n * k, 1, h, w)
        blurred = F.conv2d(F.pad(flat, (r, r, 0, 0), mode="replicate"), self.kernel.view(1, 1, 1, -1))
        blurred = F.conv2d(F.pad(blurred, (0, 0, r, r), mode="replicate"), self.kernel.view(1, 1, -1, 1))
        blurred = blurred.reshape(n, k, h, w)
        peak = heatmaps.amax(dim=(-2, -1), keepdim=True)
        bpeak = blurred.amax(dim=(-2, -1), keepdim=True)
        return blurred * (peak / bpeak.clamp_min(self.eps))

    def forward(self, heatmaps: torch.Tensor, input_hw):
        peaks, values = heatmap_argmax(heatmaps)
        log_maps = torch.log(self.modulate(heatmaps).clamp_min(self.eps))
        refined = peaks + taylor_offsets(log_maps, peaks, self.max_offset)
        return heatmap_to_input(refined, input_hw, heatmaps.shape[-2:]), values.clamp(0, 1)
