"""Gaussian heatmaps at a configurable output stride, down to one heatmap pixel per input pixel.

Sub-pixel decoders recover a fraction of a heatmap pixel, but an input pixel of error costs what it
costs: the 31-landmark detector (plugin ``ceph31``) wants heatmaps of 384-512 px, i.e. stride 2 or 1 on top
of HRNet's stride 4. So the head upsamples with learned 2x steps (transposed convolution or pixel
shuffle) after a 1x1 reduction that keeps those full-resolution layers narrow.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from zoo.errors import ModelConfigError
from zoo.registry import HEADS

from .convention import input_to_heatmap, render_gaussians


def _up_block(cin: int, cout: int, mode: str) -> nn.Sequential:
    if mode == "deconv":
        up = [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False)]
    else:
        up = [nn.Conv2d(cin, cout * 4, 3, padding=1, bias=False), nn.PixelShuffle(2)]
    return nn.Sequential(*up, nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


@HEADS.register_module()
class HeatmapHead(nn.Module):
    """One Gaussian heatmap per landmark at `output_stride` 1/2/4/..., learned 2x upsampling when finer.

    Output: ``(N, K, h, w)`` heatmaps on the target's scale (a peak of 1 at the landmark, 0 far away),
    not logits; ``h = ceil(H / finest_stride) * finest_stride / output_stride``.

    Args:
        in_channels, in_strides: from the neck; the finest level is used.
        num_keypoints: K.
        output_stride: input pixels per heatmap pixel; a power of two, at most the finest stride.
        sigma: Gaussian standard deviation of the targets, in heatmap pixels.
        channels: width of the upsampling path (a 1x1 conv first reduces the input to it).
        upsample: ``'deconv'`` (4x4 transposed conv) or ``'pixel_shuffle'`` (3x3 conv + shuffle).
        num_convs: extra 3x3 conv+BN+ReLU layers at the output resolution before the final 1x1.
    """

    output_kind = "heatmap"

    def __init__(
        self,
        in_channels: list[int],
        in_strides: list[int],
        num_keypoints: int,
        output_stride: int = 4,
        sigma: float = 2.0,
        channels: int = 64,
        upsample: str = "deconv",
        num_convs: int = 0,
    ):
        super().__init__()
        self.in_index = min(range(len(in_strides)), key=lambda i: in_strides[i])
        self.in_stride = in_strides[self.in_index]
        ratio = self.in_stride / output_stride
        steps = round(math.log2(ratio)) if ratio >= 1 else -1
        if steps < 0 or 2**steps != ratio:
            raise ModelConfigError(
                f"HeatmapHead: output_stride={output_stride} must be the input's finest stride "
                f"({self.in_stride}) divided by a power of two "
                f"(e.g. {self.in_stride}, {self.in_stride // 2}, 1)."
            )
        if upsample not in ("deconv", "pixel_shuffle"):
            raise ModelConfigError(
                f"HeatmapHead: upsample must be 'deconv' or 'pixel_shuffle', got {upsample!r}."
            )
        if sigma <= 0:
            raise ModelConfigError(f"HeatmapHead: sigma must be positive, got {sigma!r}.")
        self.num_keypoints, self.output_stride, self.sigma = num_keypoints, output_stride, float(sigma)
        width = in_channels[self.in_index]
        layers: list[nn.Module] = []
        if steps or num_convs:
            layers += [
                nn.Conv2d(width, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            width = channels
        for _ in range(steps):
            layers.append(_up_block(width, channels, upsample))
        for _ in range(num_convs):
            layers += [
                nn.Conv2d(width, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        self.layers = nn.Sequential(*layers)
        self.final = nn.Conv2d(width, num_keypoints, 1)
        nn.init.normal_(self.final.weight, std=1e-3)
        nn.init.zeros_(self.final.bias)

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [
            dict(output_stride=4),
            dict(output_stride=2, channels=8),
            dict(output_stride=1, upsample="pixel_shuffle", channels=8, num_convs=1),
        ]

    def forward(self, feats) -> torch.Tensor:
        return self.final(self.layers(feats[self.in_index]))

    def heatmap_size(self, input_hw) -> tuple[int, int]:
        up = self.in_stride // self.output_stride
        return (math.ceil(input_hw[0] / self.in_stride) * up, math.ceil(input_hw[1] / self.in_stride) * up)

    def encode(self, keypoints: torch.Tensor, visible: torch.Tensor, input_hw, heatmap_hw=None) -> dict:
        """Gaussian ``heatmaps`` (N, K, h, w), ``coords`` in heatmap px, ``weight`` (N, K).

        A keypoint that is invisible, or whose Gaussian centre lies outside the heatmap, gets weight 0
        and an all-zero map (the network is not asked to put a peak it cannot place).
        """
        heatmap_hw = tuple(heatmap_hw) if heatmap_hw is not None else self.heatmap_size(input_hw)
        coords = input_to_heatmap(keypoints.float(), input_hw, heatmap_hw)
        inside = (
            (coords[..., 0] >= -0.5)
            & (coords[..., 0] <= heatmap_hw[1] - 0.5)
            & (coords[..., 1] >= -0.5)
            & (coords[..., 1] <= heatmap_hw[0] - 0.5)
        )
        weight = visible.float() * inside.float()
        heatmaps = render_gaussians(coords, heatmap_hw, self.sigma) * weight[..., None, None]
        return dict(heatmaps=heatmaps, coords=coords, weight=weight)
