"""Direct coordinate regression: the ResNet-34 baseline, kept as the yardstick heatmap models must beat."""

from __future__ import annotations

import torch
import torch.nn as nn

from zoo.registry import HEADS

from .convention import input_to_normalized


@HEADS.register_module()
class RegressionHead(nn.Module):
    """Global-average-pools the coarsest feature and regresses K x 2 normalised coordinates.

    Output convention: ``(N, K, 2)`` x/y in normalised input coordinates, 0 and 1 at the image's outer
    edges (``x_px = n * W - 0.5``, ``zoo.heads.convention``); the layer starts at the image centre.
    Use ``RegressionDecoder`` to turn them into input pixels.

    Args:
        in_channels, in_strides: from the neck; the level with the largest stride is used.
        num_keypoints: K.
        hidden_channels: width of an optional hidden layer (0 = a single linear layer).
        dropout: dropout before the last layer.
    """

    output_kind = "coords"

    def __init__(
        self,
        in_channels: list[int],
        in_strides: list[int],
        num_keypoints: int,
        hidden_channels: int = 0,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.in_index = max(range(len(in_strides)), key=lambda i: in_strides[i])
        width = in_channels[self.in_index]
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
        if hidden_channels:
            layers += [nn.Linear(width, hidden_channels), nn.ReLU(inplace=True)]
            width = hidden_channels
        if dropout:
            layers.append(nn.Dropout(dropout))
        self.fc = nn.Linear(width, num_keypoints * 2)
        self.layers = nn.Sequential(*layers)
        nn.init.normal_(self.fc.weight, std=1e-3)
        nn.init.constant_(self.fc.bias, 0.5)

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [{}, dict(hidden_channels=16, dropout=0.1)]

    def forward(self, feats) -> torch.Tensor:
        return self.fc(self.layers(feats[self.in_index])).view(-1, self.num_keypoints, 2)

    def encode(self, keypoints: torch.Tensor, visible: torch.Tensor, input_hw, **_) -> dict:
        """Targets in the head's units: ``coords`` normalised, ``weight`` = visibility."""
        return dict(coords=input_to_normalized(keypoints.float(), input_hw), weight=visible.float())
