"""HRNetV2's representation: every branch resized to the finest and concatenated.

Landmarks need both the fine branch's precision and the coarse branches' context (which tooth is
which); concatenating all of them at the finest stride is what the HRNetV2 paper found best for
dense prediction. An optional 1x1 convolution then mixes and narrows the concatenation, which keeps
the head cheap when it upsamples further.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo.errors import ModelConfigError
from zoo.registry import NECKS


@NECKS.register_module()
class HRNetV2Neck(nn.Module):
    """Upsamples all branches (bilinear) to the finest stride, concatenates them, optional 1x1 fuse.

    Args:
        in_channels, in_strides: from the backbone.
        out_channels: width of the 1x1 fuse conv (+BN+ReLU); ``None`` returns the plain concatenation
            (``sum(in_channels)`` channels), as the HRNetV2 paper does.
        in_indices: which input levels to use; ``None`` uses all.
    """

    def __init__(
        self,
        in_channels: list[int],
        in_strides: list[int],
        out_channels: int | None = None,
        in_indices: list[int] | None = None,
    ):
        super().__init__()
        self.in_indices = list(range(len(in_channels))) if in_indices is None else list(in_indices)
        if not self.in_indices or any(not 0 <= i < len(in_channels) for i in self.in_indices):
            raise ModelConfigError(
                f"HRNetV2Neck: in_indices {in_indices} do not fit {len(in_channels)} inputs."
            )
        strides = [in_strides[i] for i in self.in_indices]
        self.finest = self.in_indices[strides.index(min(strides))]
        concat = sum(in_channels[i] for i in self.in_indices)
        if out_channels is None:
            self.fuse = nn.Identity()
            width = concat
        else:
            self.fuse = nn.Sequential(
                nn.Conv2d(concat, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )
            width = out_channels
        self.out_channels = [width]
        self.out_strides = [in_strides[self.finest]]

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [{}, dict(out_channels=16), dict(in_indices=[0, 1])]

    def forward(self, feats):
        size = feats[self.finest].shape[-2:]
        parts = [
            feats[i]
            if feats[i].shape[-2:] == size
            else F.interpolate(feats[i], size=size, mode="bilinear", align_corners=False)
            for i in self.in_indices
        ]
        return [self.fuse(torch.cat(parts, dim=1))]
