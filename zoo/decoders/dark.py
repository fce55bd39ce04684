"""Distribution-aware sub-pixel refinement (DARK, Zhang et al., CVPR 2020), in torch.

The log of a Gaussian is a quadratic, so one Newton step from the argmax on the log-heatmap lands
on the true centre: ``offset = -H^{-1} g`` with gradient ``g`` and Hessian ``H`` from central
differences. Real heatmaps are not exact Gaussians (multiple peaks, noise), so DARK first smooths
each map with a Gaussian ("modulation") and rescales it to keep its peak value. Everything is
convolutions, gathers and ``torch.where`` so the decoder exports inside an ONNX/TorchScript graph;
the 2x2 inverse is written out, and the step is dropped where the log-map is not locally concave.
Any blur is biased within about two sigmas of the map's border (replicate, reflect or normalised
padding drag peaks outwards by up to a pixel, zero padding inwards), so there the unblurred map is
refined instead: exact on clean Gaussians, only noisier. The blur pads with zeros, as in DARK.
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
    k = torch.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def taylor_refine(log_maps: torch.Tensor, peaks: torch.Tensor, max_offset: float) -> torch.Tensor:
    """Newton step on (N, K, h, w) log-heatmaps from integer (N, K, 2) peaks; maps must be >= 3 x 3.

    Derivatives are taken at the peak moved one pixel inside the map when it lies on the border (a
    log-Gaussian is one quadratic, so any point near the peak fits it), so no padding invents values.
    The result stays within ``max_offset`` of the argmax; where the log-map is not concave there the
    argmax is kept.
    """
    n, k, h, w = log_maps.shape
    flat = log_maps.reshape(n, k, h * w)
    x = peaks[..., 0].long().clamp(1, w - 2)
    y = peaks[..., 1].long().clamp(1, h - 2)

    def at(dx: int, dy: int) -> torch.Tensor:
        return flat.gather(-1, ((y + dy) * w + (x + dx)).unsqueeze(-1)).squeeze(-1)

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
    refined = torch.stack((x.to(log_maps.dtype) + dx, y.to(log_maps.dtype) + dy), dim=-1)
    refined = torch.minimum(torch.maximum(refined, peaks - max_offset), peaks + max_offset)
    return torch.where(concave.unsqueeze(-1), refined, peaks)


@DECODERS.register_module()
class DarkDecoder(nn.Module):
    """Argmax refined to sub-pixel by Gaussian modulation and a 2nd-order Taylor step (DARK).

    Args:
        blur_sigma: sigma (heatmap px) of the modulation blur; about the target sigma. 0 disables it
            (right for clean Gaussian maps, where the log is exactly quadratic already).
        max_offset: the result is kept within this many heatmap px of the argmax (a true peak lies
            within half a pixel of the argmax of a smooth map; 1 leaves room for noise).
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
        kx, ky = self.kernel.view(1, 1, 1, -1), self.kernel.view(1, 1, -1, 1)
        blurred = F.conv2d(F.conv2d(heatmaps.reshape(n * k, 1, h, w), kx, padding=(0, r)), ky, padding=(r, 0))
        blurred = blurred.reshape(n, k, h, w)
        peak = heatmaps.amax(dim=(-2, -1), keepdim=True)
        bpeak = blurred.amax(dim=(-2, -1), keepdim=True)
        return blurred * (peak / bpeak.clamp_min(self.eps))

    def forward(self, heatmaps: torch.Tensor, input_hw):
        peaks, values = heatmap_argmax(heatmaps)
        refined = taylor_refine(
            torch.log(self.modulate(heatmaps).clamp_min(self.eps)), peaks, self.max_offset
        )
        if self.blur_sigma > 0:  # near the border the blur is biased: refine the raw map there
            h, w = heatmaps.shape[-2:]
            margin = 2 * self.blur_sigma
            near = (
                (peaks[..., 0] < margin)
                | (peaks[..., 0] > w - 1 - margin)
                | (peaks[..., 1] < margin)
                | (peaks[..., 1] > h - 1 - margin)
            )
            raw = taylor_refine(torch.log(heatmaps.clamp_min(self.eps)), peaks, self.max_offset)
            refined = torch.where(near.unsqueeze(-1), raw, refined)
        return heatmap_to_input(refined, input_hw, heatmaps.shape[-2:]), values.clamp(0, 1)
