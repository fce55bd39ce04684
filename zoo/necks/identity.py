"""The neck that does nothing, so every detector has the same backbone -> neck -> head shape."""

from __future__ import annotations

import torch.nn as nn

from zoo.registry import NECKS


@NECKS.register_module()
class IdentityNeck(nn.Module):
    """Passes the backbone's feature list through unchanged."""

    def __init__(self, in_channels: list[int], in_strides: list[int]):
        super().__init__()
        self.out_channels = list(in_channels)
        self.out_strides = list(in_strides)

    def forward(self, feats):
        return list(feats)
