"""ResNet feature extractor from timm, speaking the zoo's backbone contract."""

from __future__ import annotations

import torch.nn as nn

from zoo.errors import ModelConfigError

DEPTHS = (18, 34, 50)


class ResNetBackbone(nn.Module):
    """ResNet-18/34/50 (timm) feature pyramid at strides 4/8/16/32; `pretrained` is a local file only.

    Args:
        depth: 18, 34 or 50.
        in_channels: 1 for grey-scale input, 3 for RGB (a grey stem sums RGB pretrained filters).
        pretrained: ``False`` or the path of a local weights file (timm or torchvision ResNet keys).
        out_indices: which of timm's feature levels to return; 0 is the stride-2 stem, 1-4 are
            ``layer1``-``layer4`` (64/64/128/256/512 channels for depth 18 and 34, x4 for 50).
    """

    def __init__(
        self,
        depth: int = 34,
        in_channels: int = 3,
        pretrained: bool | str = False,
        out_indices: tuple[int, ...] = (1, 2, 3, 4),
    ):
        super().__init__()
        if depth not in DEPTHS:
            raise ModelConfigError(f"ResNetBackbone: depth must be one of {DEPTHS}, got {depth!r}.")
        if in_channels not in (1, 3):
            raise ModelConfigError(f"ResNetBackbone: in_channels must be 1 or 3, got {in_channels!r}.")
        import timm

        self.depth = depth
        self.model = timm.create_model(
            f"resnet{depth}",
            pretrained=False,
            features_only=True,
            out_indices=tuple(out_indices),
            in_chans=in_channels,
        )
        if pretrained:
            from zoo.models.weights import load_local_weights

            load_local_weights(self.model, pretrained)
        self.out_channels = list(self.model.feature_info.channels())
        self.out_strides = list(self.model.feature_info.reduction())

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [dict(depth=18), dict(depth=18, in_channels=1)]

    def forward(self, x):
        return list(self.model(x))
