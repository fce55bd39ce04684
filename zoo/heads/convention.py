"""Where a heatmap pixel or a normalised coordinate lies in the network input, in one place.

The zoo's pixel convention (``zoo.structures``): integer coordinates are pixel *centres*, so the
image spans ``[-0.5, W - 0.5]``. A heatmap of width ``w`` over an input of width ``W`` has cells of
``s = W / w`` input pixels; heatmap pixel ``u`` covers input ``[u*s - 0.5, (u+1)*s - 0.5]`` and its centre
is ``x = (u + 0.5) * s - 0.5``. Normalised coordinates put the image's outer edges at 0 and 1:
``x = n * W - 0.5``. Heads encode with these functions and decoders decode with them, so training
targets and predictions cannot disagree by half a cell.

Every function is plain tensor arithmetic (works on sizes given as ints or traced tensors), so it
runs inside exported graphs.
"""

from __future__ import annotations

import torch


def input_to_heatmap(xy: torch.Tensor, input_hw, heatmap_hw) -> torch.Tensor:
    """(..., 2) input px -> heatmap px."""
    sx, sy = input_hw[1] / heatmap_hw[1], input_hw[0] / heatmap_hw[0]
    return torch.stack(((xy[..., 0] + 0.5) / sx - 0.5, (xy[..., 1] + 0.5) / sy - 0.5), dim=-1)


def heatmap_to_input(uv: torch.Tensor, input_hw, heatmap_hw) -> torch.Tensor:
    """(..., 2) heatmap px -> input px."""
    sx, sy = input_hw[1] / heatmap_hw[1], input_hw[0] / heatmap_hw[0]
    return torch.stack(((uv[..., 0] + 0.5) * sx - 0.5, (uv[..., 1] + 0.5) * sy - 0.5), dim=-1)


def input_to_normalized(xy: torch.Tensor, input_hw) -> torch.Tensor:
    """(..., 2) input px -> [0, 1] across the image's outer edges."""
    return torch.stack(((xy[..., 0] + 0.5) / input_hw[1], (xy[..., 1] + 0.5) / input_hw[0]), dim=-1)


def normalized_to_input(nxy: torch.Tensor, input_hw) -> torch.Tensor:
    """(..., 2) normalised -> input px."""
    return torch.stack((nxy[..., 0] * input_hw[1] - 0.5, nxy[..., 1] * input_hw[0] - 0.5), dim=-1)


def render_gaussians(centres: torch.Tensor, heatmap_hw, sigma: float) -> torch.Tensor:
    """Unnormalised Gaussians (peak 1 at the exact sub-pixel centre) for (N, K, 2) heatmap-px centres.

    Separable: exp(-(dx^2+dy^2)/2s^2) = exp(-dx^2/2s^2) * exp(-dy^2/2s^2), so the cost is two small
    outer products per map, on the centres' device, with no Python loop.
    """
    h, w = int(heatmap_hw[0]), int(heatmap_hw[1])
    xs = torch.arange(w, device=centres.device, dtype=centres.dtype)
    ys = torch.arange(h, device=centres.device, dtype=centres.dtype)
    gx = torch.exp(-((xs - centres[..., 0:1]) ** 2) / (2 * sigma**2))  # (N, K, w)
    gy = torch.exp(-((ys - centres[..., 1:2]) ** 2) / (2 * sigma**2))  # (N, K, h)
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)
